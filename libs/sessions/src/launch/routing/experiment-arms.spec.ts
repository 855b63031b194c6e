import { armFor, filterMatches, stickyPoint } from './experiment-arms';
import type { ExperimentPolicy } from './traffic-policies';

const experiment = (weights: number[], name = 'models'): ExperimentPolicy => ({
  name,
  sticky: 'owner',
  arms: weights.map((weight, i) => ({ name: `arm-${i}`, model: `m${i}`, weight })),
});

describe('experiment arms', () => {
  it('gives the same key the same arm every time', () => {
    const exp = experiment([1, 1, 1]);
    for (const key of ['alice', 'bob', '6c8d5709-7e95-4529-a5f1-18ac3dddef69']) {
      const arms = new Set(Array.from({ length: 20 }, () => armFor(exp, key).name));
      expect(arms.size).toBe(1);
    }
    // The hash is fixed: a change would move owners to other arms in a running experiment.
    expect(stickyPoint('models', 'alice')).toBeCloseTo(0.3509, 4);
    expect(['alice', 'dave', 'frank'].map((k) => armFor(exp, k).name)).toEqual([
      'arm-1',
      'arm-0',
      'arm-2',
    ]);
  });

  it('splits many keys by weight (within 2% over 20,000)', () => {
    const exp = experiment([70, 20, 10]);
    const counts = new Map<string, number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const arm = armFor(exp, `owner-${i}`).name;
      counts.set(arm, (counts.get(arm) ?? 0) + 1);
    }
    expect(Math.abs(counts.get('arm-0')! / n - 0.7)).toBeLessThan(0.02);
    expect(Math.abs(counts.get('arm-1')! / n - 0.2)).toBeLessThan(0.02);
    expect(Math.abs(counts.get('arm-2')! / n - 0.1)).toBeLessThan(0.02);
  });

  it('never picks an arm of weight 0; two experiments split the same keys independently', () => {
    const paused = experiment([0, 1, 0]);
    for (let i = 0; i < 200; i++) expect(armFor(paused, `k${i}`).name).toBe('arm-1');
    const a = experiment([1, 1], 'a');
    const b = experiment([1, 1], 'b');
    const same = Array.from({ length: 1000 }, (_, i) => `k${i}`).filter(
      (k) => armFor(a, k).name === armFor(b, k).name,
    ).length;
    expect(same).toBeGreaterThan(400);
    expect(same).toBeLessThan(600);
  });

  it('matches a filter on every condition it has', () => {
    expect(filterMatches({}, undefined, 'anything')).toBe(true);
    expect(filterMatches({ owners: ['alice'] }, 'alice', 'x')).toBe(true);
    expect(filterMatches({ owners: ['alice'] }, 'bob', 'x')).toBe(false);
    expect(filterMatches({ owners: ['alice'] }, undefined, 'x')).toBe(false);
    expect(filterMatches({ query: /refactor/i }, 'bob', 'Refactor it')).toBe(true);
    expect(filterMatches({ owners: ['bob'], query: /refactor/i }, 'bob', 'explain')).toBe(false);
  });
});
