import type { SessionEventDraft } from '@jelmore/contracts';
import { ResponseCache } from './response-cache';

const turn = (text: string): SessionEventDraft[] => [
  { type: 'assistant', text },
  { type: 'result', text, durationMs: 1, usage: { inputTokens: 1, outputTokens: 1, costUsd: 0.5 } },
];

describe('ResponseCache', () => {
  let now = 0;
  const cache = (options: Partial<{ ttlSeconds: number; maxEntries: number; maxBytes: number }>) =>
    new ResponseCache({ ttlSeconds: 60, maxEntries: 10, maxBytes: 1 << 20, ...options }, () => now);

  beforeEach(() => (now = 0));

  it('counts hits (with the cost they saved) and misses', () => {
    const c = cache({});
    expect(c.get('a')).toBeUndefined();
    c.set('a', turn('A'), 0.5);
    expect(c.get('a')).toEqual(turn('A'));
    expect(c.get('a')).toEqual(turn('A'));
    expect(c.stats).toEqual({ hits: 2, misses: 1, savedUsd: 1 });
  });

  it('forgets a turn after its TTL', () => {
    const c = cache({ ttlSeconds: 10 });
    c.set('a', turn('A'), 0);
    now = 9_999;
    expect(c.get('a')).toBeDefined();
    now = 10_000;
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it('evicts the least recently used beyond its entries', () => {
    const c = cache({ maxEntries: 2 });
    c.set('a', turn('A'), 0);
    c.set('b', turn('B'), 0);
    c.get('a');
    c.set('c', turn('C'), 0);
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBeDefined();
    expect(c.get('c')).toBeDefined();
  });

  it('evicts beyond its bytes, and keeps no turn larger than them all', () => {
    const size = Buffer.byteLength(JSON.stringify(turn('A')));
    const c = cache({ maxBytes: size * 2 });
    c.set('a', turn('A'), 0);
    c.set('b', turn('B'), 0);
    c.set('c', turn('C'), 0);
    expect(c.size).toBe(2);
    expect(c.get('a')).toBeUndefined();
    c.set('big', turn('x'.repeat(size * 2)), 0);
    expect(c.get('big')).toBeUndefined();
    expect(c.size).toBe(2);
  });
});
