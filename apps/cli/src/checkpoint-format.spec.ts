import type { RewindResult, SessionDiff, SessionResource } from '@jelmore/contracts';
import {
  colorPatch,
  describeRewind,
  describeWorktreeRemoval,
  diffRange,
  formatDiffStat,
  formatFork,
} from './checkpoint-format';
import { styleFor } from './format';

const plain = styleFor(false);

describe('checkpoint formatting', () => {
  it("takes --turn n as that turn's own changes, else --from and --to as given", () => {
    expect(diffRange({ turn: 3 })).toEqual({ from: 2, to: 3 });
    expect(diffRange({ turn: 1 })).toEqual({ from: 0, to: 1 });
    expect(diffRange({ from: 1 })).toEqual({ from: 1, to: undefined });
    expect(diffRange({})).toEqual({ from: undefined, to: undefined });
  });

  it('tables the files changed with lines added and removed, binary files as bin, and a total', () => {
    const diff: SessionDiff = {
      from: 1,
      to: 2,
      patch: '',
      files: [
        { path: 'src/app.ts', status: 'modified', additions: 12, deletions: 4 },
        { path: 'logo.png', status: 'added', additions: null, deletions: null },
        { path: 'old.txt', status: 'deleted', additions: 0, deletions: 20 },
      ],
    };
    expect(formatDiffStat(diff, plain).split('\n')).toEqual([
      'STATUS    +    -    PATH',
      'modified  +12  -4   src/app.ts',
      'added     bin  bin  logo.png',
      'deleted   +0   -20  old.txt',
      '3 files changed (turn 1 → 2) · +12 -24',
    ]);
    expect(formatDiffStat({ from: 0, files: [], patch: '' }, plain)).toBe(
      'no changes (turn 0 → now)',
    );
  });

  it('colours a patch as git does, and leaves it as it is without colour', () => {
    const patch = [
      'diff --git a/x.ts b/x.ts',
      '--- a/x.ts',
      '+++ b/x.ts',
      '@@ -1 +1 @@',
      '-old',
      '+new',
      ' same',
      '',
    ].join('\n');
    expect(colorPatch(patch, plain)).toBe(patch);
    const colour = styleFor(true);
    expect(colorPatch(patch, colour).split('\n')).toEqual([
      colour.bold('diff --git a/x.ts b/x.ts'),
      colour.bold('--- a/x.ts'),
      colour.bold('+++ b/x.ts'),
      colour.cyan('@@ -1 +1 @@'),
      colour.red('-old'),
      colour.green('+new'),
      ' same',
      '',
    ]);
  });

  it('shows a fork like ls, with its parent, turn and branch', () => {
    const fork = {
      id: 'b2',
      state: 'starting',
      provider: 'claude',
      model: 'sonnet',
      parentId: 'a1',
      forkedFrom: { sessionId: 'a1', turn: 2 },
      worktree: { repository: '/w/repo', branch: 'jelmore/b2', base: 'abc' },
    } as SessionResource;
    expect(formatFork(fork).split('\n')).toEqual([
      'ID  STATE     PROVIDER  MODEL   PARENT  TURN  BRANCH',
      'b2  starting  claude    sonnet  a1      2     jelmore/b2',
      '',
    ]);
  });

  it('says what a rewind did to the files and the conversation, and what an end did to the worktree', () => {
    const result = (conversation: RewindResult['conversation'], turn = 2): RewindResult => ({
      session: { id: 's1', state: 'idle' } as SessionResource,
      turn,
      filesChanged: 1,
      conversation,
    });
    expect(describeRewind(result('truncated'))).toBe(
      's1 idle · rewound to turn 2 · 1 file changed · conversation truncated',
    );
    expect(describeRewind(result('kept'))).toBe(
      's1 idle · rewound to turn 2 · 1 file changed · conversation kept (the provider cannot cut it back)',
    );
    expect(describeRewind(result('kept', 0))).toBe(
      's1 idle · rewound to turn 0 · 1 file changed · conversation kept (turn 0 has none to cut back to)',
    );
    expect(describeWorktreeRemoval({ branch: 'jelmore/s1', branchKept: true })).toBe(
      'worktree removed · branch jelmore/s1 kept (it has commits)',
    );
    expect(describeWorktreeRemoval({ branch: 'jelmore/s1', branchKept: false })).toBe(
      'worktree removed · branch jelmore/s1 deleted (no commits)',
    );
  });
});
