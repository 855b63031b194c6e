import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { realPathOf } from '../workspace';
import { GitRunner } from './git-runner';
import {
  busyReason,
  gitDirPointer,
  neutralizedFilters,
  Repository,
  resolveCommit,
} from './repository';

/** Branches of session worktrees: `jelmore/<session id>`. */
export const WORKTREE_BRANCH_PREFIX = 'jelmore/';
const SESSION_BRANCH =
  /^refs\/heads\/jelmore\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
/** Session ids go into branch names and folder names: nothing git or a shell could read otherwise. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

export interface WorktreeRemoval {
  /** A worktree (its folder, or only git's record of it) was there and is gone now. */
  removed: boolean;
  branch: string;
  /** The branch stays because it has commits beyond the base; otherwise it was deleted. */
  branchKept: boolean;
}

export interface OrphanRemoval extends WorktreeRemoval {
  sessionId: string;
  dir: string;
}

/** Git worktrees of sessions, each on a branch `jelmore/<sessionId>` of the user's repository. */
export class Worktrees {
  constructor(private readonly git: GitRunner) {}

  /**
   * A new worktree at `dir` on a new branch `jelmore/<sessionId>` from `baseRef` (HEAD when absent).
   * When it fails, nothing is left: no branch, no folder (unless the folder was there before).
   */
  async add(
    repo: Repository,
    o: { sessionId: string; dir: string; baseRef?: string },
  ): Promise<{ branch: string; base: string }> {
    const branch = branchOf(o.sessionId);
    const busy = busyReason(repo);
    if (busy) {
      throw new JelmoreError(ErrorCode.WorktreeUnavailable, `the repository is busy: ${busy}`);
    }
    let base: string | undefined;
    if (o.baseRef !== undefined) {
      base = await resolveCommit(this.git, repo, o.baseRef);
      if (!base) {
        throw new JelmoreError(
          ErrorCode.BaseRefNotFound,
          `baseRef '${o.baseRef}' names no commit of the repository`,
          { baseRef: o.baseRef },
        );
      }
    } else {
      base = repo.head;
      if (!base) {
        throw new JelmoreError(
          ErrorCode.WorktreeUnavailable,
          'the repository has no commit yet to make a worktree from',
        );
      }
    }
    if (await this.commitOf(repo.commonDir, `refs/heads/${branch}`)) {
      throw new JelmoreError(ErrorCode.WorktreeUnavailable, `the branch ${branch} exists already`);
    }
    // git takes an empty folder (the caller may have made it) but no other.
    const before = isEmptyDir(o.dir);
    const filters = await neutralizedFilters(this.git, repo);
    try {
      await this.git.run(
        [...filters, 'worktree', 'add', '-q', '--no-track', '-b', branch, '--', o.dir, base],
        { cwd: repo.topLevel },
      );
    } catch (err) {
      // Best effort: what went wrong first is what the caller hears of.
      try {
        if (before === undefined) rmSync(o.dir, { recursive: true, force: true });
        else if (before) emptyDir(o.dir);
      } catch {
        // e.g. ENOTDIR: there was no folder to make
      }
      if (await this.registered(repo.commonDir, o.dir).catch(() => false)) {
        await this.forget(repo.commonDir, o.dir).catch(() => undefined);
      }
      await this.dropBranchUnlessAhead(repo.commonDir, branch, base).catch(() => undefined);
      throw err;
    }
    return { branch, base };
  }

  /**
   * Removes the session's worktree (discarding what was not committed) and its branch, unless the
   * branch has commits beyond `base`. Works when the folder is gone already. Without `base` (unknown),
   * the branch's first reflog entry, where it was made, stands for it; with no reflog it stays.
   */
  async remove(
    repo: Pick<Repository, 'commonDir'> | string,
    o: { sessionId: string; dir: string; base?: string },
  ): Promise<WorktreeRemoval> {
    const commonDir = typeof repo === 'string' ? repo : repo.commonDir;
    const branch = branchOf(o.sessionId);
    const registered = await this.registered(commonDir, o.dir);
    const folder = existsSync(o.dir);
    if (registered) {
      await this.forget(commonDir, o.dir).catch(async () => {
        // e.g. it holds initialized submodules, which `worktree remove` refuses to delete.
        rmSync(o.dir, { recursive: true, force: true });
        await this.forget(commonDir, o.dir);
      });
    } else if (folder && pointsInto(o.dir, commonDir)) {
      // A worktree folder git has forgotten (its record was pruned): nothing else removes it.
      rmSync(o.dir, { recursive: true, force: true });
    }
    const branchKept = await this.dropBranchUnlessAhead(commonDir, branch, o.base);
    return { removed: registered || (folder && !existsSync(o.dir)), branch, branchKept };
  }

  /**
   * `worktree remove` of that one worktree, its folder there or not (unlike `prune`, which would also
   * forget the user's worktrees on a drive not mounted now). Twice --force: locked ones too, and no
   * check that it is clean, a `git status` that would run the repository's filters.
   */
  private async forget(commonDir: string, dir: string): Promise<void> {
    await this.inRepo(commonDir, ['worktree', 'remove', '--force', '--force', '--', dir]);
  }

  /** Forgets all worktrees whose folders are gone. */
  async prune(repo: Pick<Repository, 'commonDir'> | string): Promise<void> {
    await this.inRepo(typeof repo === 'string' ? repo : repo.commonDir, ['worktree', 'prune']);
  }

  /**
   * Removes the worktrees of sessions that are not `live` (the server was killed before it could),
   * as `remove` does; a branch with commits beyond where it was made stays.
   */
  async orphans(
    repo: Pick<Repository, 'commonDir'> | string,
    live: (sessionId: string) => boolean,
  ): Promise<OrphanRemoval[]> {
    const commonDir = typeof repo === 'string' ? repo : repo.commonDir;
    const removed: OrphanRemoval[] = [];
    for (const entry of await this.list(commonDir)) {
      const sessionId = entry.branch && SESSION_BRANCH.exec(entry.branch)?.[1];
      if (!sessionId || live(sessionId)) continue;
      const result = await this.remove(commonDir, { sessionId, dir: entry.path });
      removed.push({ ...result, sessionId, dir: entry.path });
    }
    return removed;
  }

  /** `git worktree list`: each worktree's folder and branch (a full ref name), if it has one. */
  async list(commonDir: string): Promise<{ path: string; branch?: string }[]> {
    const out = await this.inRepo(commonDir, ['worktree', 'list', '--porcelain', '-z']);
    const entries: { path: string; branch?: string }[] = [];
    for (const field of out.stdout.toString('utf8').split('\0')) {
      if (field.startsWith('worktree ')) entries.push({ path: field.slice('worktree '.length) });
      else if (field.startsWith('branch ') && entries.length) {
        entries[entries.length - 1].branch = field.slice('branch '.length);
      }
    }
    return entries;
  }

  private async registered(commonDir: string, dir: string): Promise<boolean> {
    // A path that does not resolve (the folder is gone) compares as it was written.
    const wanted = realPathOf(dir) ?? dir;
    return (await this.list(commonDir)).some(
      (entry) => (realPathOf(entry.path) ?? entry.path) === wanted,
    );
  }

  /** Deletes `branch` unless it has commits beyond `base`; whether it stays. */
  private async dropBranchUnlessAhead(
    commonDir: string,
    branch: string,
    base: string | undefined,
  ): Promise<boolean> {
    const ref = `refs/heads/${branch}`;
    const tip = await this.commitOf(commonDir, ref);
    if (!tip) return false;
    const from = base ?? (await this.createdAt(commonDir, ref));
    if (!from || !(await this.commitOf(commonDir, from))) return true;
    const ahead = await this.inRepo(commonDir, ['rev-list', '--count', `${from}..${tip}`]);
    if (Number(ahead.stdout.toString().trim()) > 0) return true;
    await this.inRepo(commonDir, ['branch', '-D', '--', branch]);
    return false;
  }

  /** The commit the ref was made at: its oldest reflog entry. */
  private async createdAt(commonDir: string, ref: string): Promise<string | undefined> {
    const out = await this.inRepo(
      commonDir,
      ['reflog', 'show', '--format=%H', '--end-of-options', ref],
      [0, 128],
    );
    return out.stdout.toString().trim().split('\n').filter(Boolean).pop();
  }

  private async commitOf(commonDir: string, name: string): Promise<string | undefined> {
    const out = await this.inRepo(
      commonDir,
      ['rev-parse', '-q', '--verify', '--end-of-options', `${name}^{commit}`],
      [0, 1, 128],
    );
    const sha = out.stdout.toString().trim();
    return sha || undefined;
  }

  /**
   * Runs git on the repository itself, not from a worktree (whose folder may be gone): GIT_DIR is the
   * common directory. No work tree is involved, so no filter or fsmonitor could run.
   */
  private inRepo(commonDir: string, args: string[], okCodes?: number[]) {
    return this.git.run(args, { cwd: commonDir, env: { GIT_DIR: commonDir }, okCodes });
  }
}

function branchOf(sessionId: string): string {
  if (!SAFE_ID.test(sessionId)) throw new Error(`invalid session id '${sessionId}'`);
  return `${WORKTREE_BRANCH_PREFIX}${sessionId}`;
}

function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) rmSync(join(dir, name), { recursive: true, force: true });
}

/** Whether `dir` holds a `.git` file naming a worktree record of the repository at `commonDir`. */
function pointsInto(dir: string, commonDir: string): boolean {
  const gitDir = gitDirPointer(dir);
  return gitDir !== undefined && dirname(gitDir) === join(commonDir, 'worktrees');
}

/** Whether `dir` is an empty folder; undefined when it is no folder. */
function isEmptyDir(dir: string): boolean | undefined {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return undefined;
  }
}
