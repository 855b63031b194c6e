import { scoreComplexity } from './complexity-scorer';

describe('scoreComplexity', () => {
  it.each([
    ['What is a closure in JavaScript?', 'simple'],
    ['why does git rebase rewrite history?', 'simple'],
    ['Explain the difference between let and const', 'simple'],
    ['hello', 'simple'],
    ['Write a function that parses ISO dates', 'standard'],
    ['Fix the failing test in src/date.test.ts', 'standard'],
    ['Why does this throw?\n```js\nJSON.parse(undefined)\n```', 'simple'],
    ['Fix this:\n```py\nprint(1/0)\n```\nand this:\n```py\nint("x")\n```', 'standard'],
    [
      'Refactor the session store across src/store/a.ts, src/store/b.ts and src/store/c.ts, then migrate every caller to the new API',
      'complex',
    ],
    ['Redesign the architecture of the billing service and rewrite its tests', 'complex'],
    [
      'Add a CLI flag:\n1. parse it in cli.ts\n2. pass it to run.ts\n3. document it in README.md\n4. test it in cli.spec.ts\n5. update CHANGELOG.md\n6. release',
      'complex',
    ],
  ])('%j is %s', (text, tier) => {
    expect(scoreComplexity(text).tier).toBe(tier);
  });

  it('names each signal with its points in the reason, and sums them in the score', () => {
    const verdict = scoreComplexity(
      'Refactor the session store across src/store/a.ts, src/store/b.ts and src/store/c.ts, then migrate every caller to the new API',
    );
    expect(verdict).toEqual({
      tier: 'complex',
      score: 6,
      reason: 'many files (+2), refactor, migrate (+4)',
    });
    expect(scoreComplexity('What is a closure?')).toEqual({
      tier: 'simple',
      score: -2,
      reason: 'a question (-2)',
    });
    expect(scoreComplexity('ok')).toEqual({
      tier: 'simple',
      score: 0,
      reason: 'short, nothing asked for',
    });
  });

  it('counts length, distinct files, steps and attachments, each up to a cap', () => {
    const long = Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ');
    expect(scoreComplexity(long).reason).toBe('500 words (+3)');
    expect(scoreComplexity('look at a.ts and a.ts and b.py').reason).toBe('2 files (+1)');
    // Libraries named like files are not files.
    expect(scoreComplexity('Node.js or Vue.js').reason).toBe('short, nothing asked for');
    expect(scoreComplexity('first this, then that, then the other, finally done').reason).toBe(
      '3 steps (+1)',
    );
    expect(scoreComplexity('see', 5).reason).toBe('5 attachments (+2)');
  });

  it('gives the same answer for the same text', () => {
    const text = 'Migrate the API to v2 then update the docs in docs/api.md and README.md';
    expect(scoreComplexity(text)).toEqual(scoreComplexity(text));
  });
});
