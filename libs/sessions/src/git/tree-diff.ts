import type { FileChange, FileChangeStatus } from '@jelmore/contracts';

/**
 * `diff-tree` options for every comparison of checkpoints: both sides are trees in Jelmore's store, so
 * the output depends on no config of the user's (no external diff, textconv, renames or colour).
 */
export const DIFF_TREE = ['diff-tree', '-r', '--no-renames', '--no-ext-diff', '--no-textconv'];

/** `diff-tree --raw --numstat -z` arguments for `parseRawNumstat`. */
export const RAW_NUMSTAT = [...DIFF_TREE, '--raw', '--numstat', '-z'];

/** `diff-tree -p` arguments for a unified diff with git's usual a/ and b/ prefixes. */
export const PATCH = [...DIFF_TREE, '-p', '--no-color', '--src-prefix=a/', '--dst-prefix=b/'];

const STATUS: Record<string, FileChangeStatus> = {
  A: 'added',
  D: 'deleted',
  M: 'modified',
  T: 'type_changed',
};

/**
 * The files of `diff-tree --raw --numstat -z` output: raw records (`:<modes> <shas> <status>\0<path>\0`)
 * first, then numstat ones (`<added>\t<deleted>\t<path>\0`, `-` for binary). A type change may count in
 * numstat twice (the old file deleted, the new one added): the lines add up.
 */
export function parseRawNumstat(out: Buffer): FileChange[] {
  const fields = out.toString('utf8').split('\0');
  const files = new Map<string, FileChange>();
  let i = 0;
  for (; i < fields.length && fields[i].startsWith(':'); i += 2) {
    const status = fields[i].slice(fields[i].lastIndexOf(' ') + 1, fields[i].lastIndexOf(' ') + 2);
    const path = fields[i + 1];
    files.set(path, { path, status: STATUS[status] ?? 'modified', additions: 0, deletions: 0 });
  }
  for (; i < fields.length; i++) {
    const match = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(fields[i]);
    const file = match && files.get(match[3]);
    if (!file) continue;
    file.additions = sum(file.additions, match[1]);
    file.deletions = sum(file.deletions, match[2]);
  }
  return [...files.values()];
}

/** Paths of `diff-tree --name-only -z` output. */
export function countPaths(out: Buffer): number {
  return out.toString('utf8').split('\0').filter(Boolean).length;
}

function sum(lines: number | null, field: string): number | null {
  return lines === null || field === '-' ? null : lines + Number(field);
}
