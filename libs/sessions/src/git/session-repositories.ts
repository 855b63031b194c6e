import { Logger } from '@nestjs/common';
import { basename, dirname, join, resolve } from 'node:path';
import {
  ErrorCode,
  Isolation,
  JelmoreError,
  SessionMounts,
  TERMINAL_STATES,
} from '@jelmore/contracts';
import type { SessionsModuleOptions } from '../sessions.options';
import type { SessionGit, SessionRecord } from '../store/session-record';
import type { SessionStore } from '../store/session-store';
import { isWithin, realPathOf, sessionFolderIds } from '../workspace';
import { GitRunner } from './git-runner';
import { busyReason, findRepository, gitDirPointer, Repository } from './repository';
import { Worktrees } from './worktrees';

/** Where a new session works: its cwd, and its place in git. */
export interface SessionPlace {
  cwd: string;
  git: SessionGit | null;
}

/**
 * The sessions' git repositories: a worktree of its own for a session that asks for one (made at its
 * start, removed at its end or, after a crash, at the next boot), and the repository a session's
 * checkpoints are of. Only repositories inside the workspace root count: git above it is the server's.
 */
export class SessionRepositories {
  private readonly logger = new Logger(SessionRepositories.name);
  private readonly worktrees: Worktrees;

  constructor(
    private readonly options: Pick<SessionsModuleOptions, 'workspaceRoot'>,
    private readonly store: SessionStore,
    private readonly git: GitRunner,
  ) {
    this.worktrees = new Worktrees(git);
  }

  /**
   * The place of the new session `sessionId` whose cwd resolved to `cwd`. With `worktree`: a new
   * worktree `<root>/<sessionId>` on the branch `jelmore/<sessionId>` from `baseRef` (HEAD when absent),
   * the cwd at the same place in it. Refused (nothing made) when the cwd is in no repository of the
   * root, the repository is busy (a merge…), or `baseRef` names no commit.
   */
  async prepare(
    sessionId: string,
    cwd: string,
    isolation: Isolation,
    baseRef?: string,
  ): Promise<SessionPlace> {
    // The session's own new folder is in no repository of the root: no git to ask.
    if (isolation === 'none' && cwd === join(realPathOf(this.options.workspaceRoot)!, sessionId)) {
      return { cwd, git: null };
    }
    const repo = await this.repositoryOf(cwd);
    if (isolation === 'none') return { cwd, git: repo ? gitOf(repo) : null };
    if (!repo) throw worktreeNeedsRepository();
    return this.addWorktree(sessionId, repo, baseRef);
  }

  /** A worktree for `sessionId` from `repo` at `base`, the cwd at `repo.prefix` in it (forks). */
  async addWorktree(sessionId: string, repo: Repository, baseRef?: string): Promise<SessionPlace> {
    const busy = busyReason(repo);
    if (busy) {
      throw new JelmoreError(
        ErrorCode.WorktreeUnavailable,
        `the repository ${repo.topLevel} is busy: ${busy}`,
      );
    }
    const dir = join(realPathOf(this.options.workspaceRoot)!, sessionId);
    const { branch, base } = await this.worktrees.add(repo, { sessionId, dir, baseRef });
    const made = await findRepository(this.git, dir);
    if (!made) throw new Error(`worktree ${dir} was made but git does not find it`);
    return {
      cwd: resolve(dir, repo.prefix),
      git: {
        ...gitOf(made),
        prefix: repo.prefix,
        base,
        worktree: { repository: repo.topLevel, branch },
      },
    };
  }

  /**
   * Removes the session's worktree, if it has one still; the branch stays when the agent committed
   * to it. Records what became of it on `record`.
   */
  async release(record: SessionRecord): Promise<void> {
    const git = record.git;
    if (!git?.worktree || git.worktree.removed || git.base === null) return;
    const { branchKept } = await this.worktrees.remove(git.commonDir, {
      sessionId: record.id,
      dir: git.topLevel,
      base: git.base,
    });
    record.git = { ...git, worktree: { ...git.worktree, removed: { branchKept } } };
    await this.store.updateSession(record.id, { git: record.git });
  }

  /** Undoes `prepare` for a session that was refused after it. */
  async discard(sessionId: string, git: SessionGit | null): Promise<void> {
    if (!git?.worktree || git.base === null) return;
    await this.worktrees
      .remove(git.commonDir, { sessionId, dir: git.topLevel, base: git.base })
      .catch((err: unknown) =>
        this.logger.warn(`worktree of session ${sessionId} not removed: ${String(err)}`),
      );
  }

  /**
   * At boot: worktree folders `<root>/<id>` whose session ended, or never got a row (the server died
   * while it started), are removed. Those of sessions that can go on (interrupted, suspended) stay.
   */
  async sweep(): Promise<number> {
    const root = realPathOf(this.options.workspaceRoot);
    if (root === undefined) return 0;
    let removed = 0;
    for (const id of sessionFolderIds(root)) {
      const commonDir = worktreeCommonDir(join(root, id));
      if (commonDir === undefined) continue;
      const record = await this.store.getSession(id);
      if (record && !TERMINAL_STATES.has(record.state)) continue;
      if (record?.git?.worktree?.removed) continue;
      try {
        if (record) await this.release(record);
        // No row: the agent never ran, so the branch holds nothing of it.
        else await this.worktrees.remove(commonDir, { sessionId: id, dir: join(root, id) });
        removed++;
      } catch (err) {
        this.logger.warn(`worktree of session ${id} not removed: ${String(err)}`);
      }
    }
    return removed;
  }

  /** The folders a session's agent must see besides its cwd: the repository's git directory. */
  mountsOf(git: SessionGit | null): SessionMounts | undefined {
    if (!git?.worktree || git.worktree.removed) return undefined;
    return { readOnly: [git.commonDir], writable: [git.gitDir] };
  }

  /** The repository `cwd` is in, when its working tree lies inside the workspace root. */
  async repositoryOf(cwd: string): Promise<Repository | undefined> {
    const root = realPathOf(this.options.workspaceRoot);
    const repo = await findRepository(this.git, cwd);
    if (!repo || root === undefined) return undefined;
    if (!isWithin(root, repo.topLevel) || !isWithin(root, repo.commonDir)) return undefined;
    return repo;
  }
}

export function worktreeNeedsRepository(): JelmoreError {
  return new JelmoreError(
    ErrorCode.WorktreeUnavailable,
    'isolation "worktree" needs a cwd inside a git repository in the workspace',
    { field: 'cwd' },
  );
}

function gitOf(repo: Repository): SessionGit {
  return {
    topLevel: repo.topLevel,
    commonDir: repo.commonDir,
    gitDir: repo.gitDir,
    prefix: repo.prefix,
    base: repo.head ?? null,
  };
}

/** The repository of a linked worktree folder (its `.git` file names `<common>/worktrees/<name>`). */
function worktreeCommonDir(dir: string): string | undefined {
  const gitDir = gitDirPointer(dir);
  return gitDir !== undefined && basename(dirname(gitDir)) === 'worktrees'
    ? dirname(dirname(gitDir))
    : undefined;
}
