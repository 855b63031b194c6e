import type { RewindResult, SessionDiff, SessionResource } from '@jelmore/contracts';
import type { DiffRange } from '@jelmore/client';
import { counted, table, type Style } from './format';

/** `--turn n` is that turn's own changes: from the checkpoint before it to its own. */
export function diffRange(options: { turn?: number; from?: number; to?: number }): DiffRange {
  if (options.turn !== undefined) return { from: options.turn - 1, to: options.turn };
  return { from: options.from, to: options.to };
}

/** `turn 1 → 2`, `turn 0 → now`. */
export function describeRange(diff: Pick<SessionDiff, 'from' | 'to'>): string {
  return `turn ${diff.from} → ${diff.to ?? 'now'}`;
}

/** The files a diff changed, with lines added and removed (`bin` for binary files), and a total. */
export function formatDiffStat(diff: SessionDiff, style: Style): string {
  if (!diff.files.length) return style.dim(`no changes (${describeRange(diff)})`);
  const lines = (n: number | null, sign: string) => (n === null ? 'bin' : `${sign}${n}`);
  const rows = diff.files.map((f) => [
    f.status,
    style.green(lines(f.additions, '+')),
    style.red(lines(f.deletions, '-')),
    f.path,
  ]);
  const sum = (key: 'additions' | 'deletions') =>
    diff.files.reduce((total, f) => total + (f[key] ?? 0), 0);
  const total = `${counted(diff.files.length, 'file')} changed (${describeRange(diff)}) · +${sum('additions')} -${sum('deletions')}`;
  return `${table(['STATUS', '+', '-', 'PATH'], rows)}${style.dim(total)}`;
}

/** A unified diff coloured as git colours it: headers bold, hunks cyan, lines added green, removed red. */
export function colorPatch(patch: string, style: Style): string {
  return patch
    .split('\n')
    .map((line) => {
      if (/^(diff --git|index |--- |\+\+\+ |(new|deleted) file mode|similarity|rename )/.test(line))
        return style.bold(line);
      if (line.startsWith('@@')) return style.cyan(line);
      if (line.startsWith('+')) return style.green(line);
      if (line.startsWith('-')) return style.red(line);
      return line;
    })
    .join('\n');
}

/** A forked session as `ls` shows sessions, with the session and turn it came from. */
export function formatFork(session: SessionResource): string {
  return table(
    ['ID', 'STATE', 'PROVIDER', 'MODEL', 'PARENT', 'TURN', 'BRANCH'],
    [
      [
        session.id,
        session.state,
        session.provider,
        session.model,
        session.parentId ?? '',
        session.forkedFrom ? String(session.forkedFrom.turn) : '',
        session.worktree?.branch ?? '',
      ],
    ],
  );
}

/** `s1 idle · rewound to turn 2 · 3 files changed · conversation truncated`. */
export function describeRewind(result: RewindResult): string {
  // Turn 0 precedes the conversation, so the server keeps it whatever the provider can do.
  const kept =
    result.turn === 0
      ? 'conversation kept (turn 0 has none to cut back to)'
      : 'conversation kept (the provider cannot cut it back)';
  const conversation = result.conversation === 'truncated' ? 'conversation truncated' : kept;
  return [
    `${result.session.id} ${result.session.state}`,
    `rewound to turn ${result.turn}`,
    `${counted(result.filesChanged, 'file')} changed`,
    conversation,
  ].join(' · ');
}

/** What terminating a session did to its worktree. */
export function describeWorktreeRemoval(removed: { branch: string; branchKept: boolean }): string {
  return removed.branchKept
    ? `worktree removed · branch ${removed.branch} kept (it has commits)`
    : `worktree removed · branch ${removed.branch} deleted (no commits)`;
}
