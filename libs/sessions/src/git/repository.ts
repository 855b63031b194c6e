import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { GitError, GitRunner } from './git-runner';

/** A git working tree as git sees it from a folder in it. Paths are absolute and real. */
export interface Repository {
  /** The working tree's top-level folder (a linked worktree's own folder). */
  topLevel: string;
  /** The repository's git directory, shared by all its worktrees (objects, refs, config). */
  commonDir: string;
  /** This working tree's own git directory (HEAD, index); `commonDir` for the main one. */
  gitDir: string;
  /** The folder asked about, relative to `topLevel`; '' at the top. */
  prefix: string;
  /** The commit HEAD is at; undefined on an unborn branch. */
  head?: string;
}

/** Markers of an operation in progress in a git directory, with how to say so. */
const IN_PROGRESS: [string, string][] = [
  ['MERGE_HEAD', 'a merge is in progress'],
  ['rebase-merge', 'a rebase is in progress'],
  ['rebase-apply', 'a rebase is in progress'],
  ['CHERRY_PICK_HEAD', 'a cherry-pick is in progress'],
  ['REVERT_HEAD', 'a revert is in progress'],
  ['BISECT_LOG', 'a bisect is in progress'],
];

/**
 * The repository whose working tree holds `cwd`; undefined outside any, in a bare one, or when the
 * repository's config puts its working tree elsewhere than beside its `.git`.
 */
export async function findRepository(git: GitRunner, cwd: string): Promise<Repository | undefined> {
  const [paths, head] = await Promise.all([
    git
      .text(
        ['rev-parse', '--show-toplevel', '--git-common-dir', '--absolute-git-dir', '--show-prefix'],
        { cwd },
      )
      .catch((err: unknown) => {
        if (
          err instanceof GitError &&
          /not a git repository|must be run in a work tree/.test(err.message)
        )
          return undefined;
        throw err;
      }),
    git
      .text(['rev-parse', '-q', '--verify', 'HEAD^{commit}'], { cwd, okCodes: [0, 1, 128] })
      .catch(() => ''),
  ]);
  if (paths === undefined) return undefined;
  const [topLevel, commonDir, gitDir, prefix = ''] = paths.split('\n');
  let repo: Repository;
  try {
    repo = {
      topLevel: realpathSync(topLevel),
      commonDir: realpathSync(resolve(cwd, commonDir)),
      gitDir: realpathSync(gitDir),
      prefix: prefix.replace(/\/$/, ''),
      head: /^[0-9a-f]{40,64}$/.test(head) ? head : undefined,
    };
  } catch {
    return undefined; // a working tree configured where there is none
  }
  return ownWorkTree(repo) ? repo : undefined;
}

/**
 * Whether the working tree is where its `.git` is: `<topLevel>/.git` is the git dir, or a file naming
 * it. A config that moves the working tree (core.worktree, which an agent may set) would otherwise
 * have Jelmore snapshot and restore folders far from the session's own.
 */
function ownWorkTree(repo: Repository): boolean {
  const dotGit = join(repo.topLevel, '.git');
  try {
    if (statSync(dotGit).isDirectory()) return realpathSync(dotGit) === repo.gitDir;
    const pointer = gitDirPointer(repo.topLevel);
    return pointer !== undefined && realpathSync(pointer) === repo.gitDir;
  } catch {
    return false;
  }
}

/**
 * The git dir a `.git` file in `dir` names (a linked worktree's `<common>/worktrees/<name>`), absolute;
 * undefined when `dir` has no such file.
 */
export function gitDirPointer(dir: string): string | undefined {
  try {
    const pointer = /^gitdir: (.+)$/m.exec(readFileSync(join(dir, '.git'), 'utf8'))?.[1];
    return pointer === undefined ? undefined : resolve(dir, pointer.trim());
  } catch {
    return undefined;
  }
}

/** Why no worktree can be made from the repository now (a merge, rebase… half done), if so. */
export function busyReason(repo: Pick<Repository, 'gitDir'>): string | undefined {
  return IN_PROGRESS.find(([marker]) => existsSync(join(repo.gitDir, marker)))?.[1];
}

/** The commit `ref` names in the repository; undefined when none (or when it looks like an option). */
export async function resolveCommit(
  git: GitRunner,
  repo: Pick<Repository, 'topLevel'>,
  ref: string,
): Promise<string | undefined> {
  if (!ref || ref.startsWith('-') || ref.includes('\0')) return undefined;
  const sha = await git.text(
    ['rev-parse', '-q', '--verify', '--end-of-options', `${ref}^{commit}`],
    {
      cwd: repo.topLevel,
      okCodes: [0, 1, 128],
    },
  );
  return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
}

/**
 * `-c` settings that switch off every filter driver the repository's own config defines (clean,
 * smudge and process run programs; an agent may have written them, and `.gitattributes` choose them).
 * The user's global and system drivers (e.g. Git LFS) stay. Reading the config runs nothing.
 */
export async function neutralizedFilters(
  git: GitRunner,
  repo: Pick<Repository, 'topLevel'>,
): Promise<string[]> {
  const out = await git.run(
    ['config', '--includes', '--show-scope', '--name-only', '-z', '--get-regexp', '^filter\\.'],
    { cwd: repo.topLevel, okCodes: [0, 1] },
  );
  const fields = out.stdout.toString('utf8').split('\0');
  const drivers = new Set<string>();
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [scope, name] = [fields[i], fields[i + 1]];
    if (scope === 'global' || scope === 'system') continue;
    const driver = /^filter\.(.+)\.[^.]+$/s.exec(name)?.[1];
    if (driver !== undefined) drivers.add(driver);
  }
  return [...drivers].flatMap((driver) => {
    // `-c` splits at the first '=', so such a driver could not be switched off: refuse the repository.
    if (driver.includes('=')) {
      throw new JelmoreError(
        ErrorCode.WorktreeUnavailable,
        `the repository's config defines a filter driver Jelmore cannot disable ('${driver}')`,
      );
    }
    // An empty command is no command (git 2.39 convert.c skips it); required=false, or git dies.
    return ['clean=', 'smudge=', 'process=', 'required=false'].flatMap((setting) => [
      '-c',
      `filter.${driver}.${setting}`,
    ]);
  });
}
