import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import {
  Checkpoint,
  ErrorCode,
  JelmoreError,
  NotFoundError,
  SessionDiff,
} from '@jelmore/contracts';
import type { EventLog } from '../events/event-log.service';
import type { SessionsModuleOptions } from '../sessions.options';
import type { CheckpointRecords } from '../store/checkpoint-records';
import type { SessionGit, SessionRecord } from '../store/session-record';
import type { SessionStore } from '../store/session-store';
import { CheckpointStore } from './checkpoint-store';
import { GitRunner } from './git-runner';
import type { Repository } from './repository';

/** Where the checkpoints of the workspace's repositories are kept: hidden from every agent. */
export function checkpointsDir(workspaceRoot: string): string {
  return join(workspaceRoot, '.jelmore', 'checkpoints');
}

/**
 * Each session's files at the end of each of its turns (turn 0: as it started), as commits in a git
 * store of Jelmore's beside the repository: the user's index, HEAD and refs are never touched, and no
 * agent sees another session's checkpoints. Sessions whose cwd is in no repository count turns only.
 */
export class SessionCheckpoints {
  private readonly logger = new Logger(SessionCheckpoints.name);
  readonly store: CheckpointStore;

  constructor(
    options: Pick<SessionsModuleOptions, 'workspaceRoot'>,
    git: GitRunner,
    private readonly records: CheckpointRecords,
    private readonly sessions: SessionStore,
    private readonly log: EventLog,
  ) {
    this.store = new CheckpointStore(git, checkpointsDir(options.workspaceRoot));
  }

  /** The files the session starts with: turn 0, or a fork's parent turn. */
  async begin(record: SessionRecord): Promise<void> {
    if (record.git) await this.record(record, record.git, record.turns);
  }

  /**
   * A turn ended (its `result` is logged): counted, and its files recorded before the next turn may
   * change them. A checkpoint git cannot make is reported as an `error` event; the session goes on.
   */
  async turnEnded(record: SessionRecord): Promise<void> {
    // Kept with the session's next state change (SessionTransitions), not a write of its own.
    record.turns += 1;
    if (!record.git) return;
    try {
      await this.record(record, record.git, record.turns);
    } catch (err) {
      this.logger.warn(`session ${record.id}: turn ${record.turns} not recorded: ${String(err)}`);
      const code = err instanceof JelmoreError ? err.code : ErrorCode.GitFailed;
      this.log.writeIfOpen(record.id, {
        type: 'error',
        code,
        message: `checkpoint of turn ${record.turns} failed: ${errorText(err)}`,
      });
    }
  }

  list(record: SessionRecord): Promise<Checkpoint[]> {
    return this.records.list(record.id);
  }

  /** The checkpoint of `turn`, or CHECKPOINT_NOT_FOUND. */
  async get(record: SessionRecord, turn: number): Promise<Checkpoint> {
    const checkpoint = await this.records.get(record.id, turn);
    if (!checkpoint) {
      const has = record.git
        ? `turns up to ${record.turns}`
        : 'none: its cwd is in no git repository';
      throw new NotFoundError(
        `Session ${record.id} has no checkpoint of turn ${turn} (it has ${has})`,
        ErrorCode.CheckpointNotFound,
      );
    }
    return checkpoint;
  }

  /** The changes from turn `from` (default: the first checkpoint) to turn `to` (default: the files now). */
  async diff(record: SessionRecord, from?: number, to?: number): Promise<SessionDiff> {
    const git = record.git;
    const start =
      from === undefined
        ? ((await this.records.list(record.id))[0] ?? (await this.get(record, 0)))
        : await this.get(record, from);
    const end = to === undefined ? 'worktree' : (await this.get(record, to)).commit;
    if (!git) throw new Error('unreachable: a checkpoint without a repository');
    const { files, patch } = await this.store.diff(repositoryOf(git), record.id, start.commit, end);
    return { from: start.turn, ...(to === undefined ? {} : { to }), files, patch };
  }

  /**
   * Makes the session's files those of `turn` and forgets the later checkpoints. Turn numbers count
   * the conversation's turns: with the conversation `cut` back too, the next turn is turn + 1; kept
   * whole, the count goes on. Returns how many files changed.
   */
  async restore(record: SessionRecord, turn: number, cut: boolean): Promise<number> {
    const checkpoint = await this.get(record, turn);
    const git = record.git!;
    const { filesChanged } = await this.store.restore(
      repositoryOf(git),
      record.id,
      checkpoint.commit,
    );
    await this.store.dropAfter(repositoryOf(git), record.id, turn);
    await this.records.deleteAfter(record.id, turn);
    if (cut) {
      record.turns = turn;
      await this.sessions.updateSession(record.id, { turns: turn });
    }
    return filesChanged;
  }

  /** Writes the files of `record`'s checkpoint `commit` into the new worktree `into` (a fork's). */
  async materialize(record: SessionRecord, commit: string, into: SessionGit): Promise<void> {
    await this.store.materialize(repositoryOf(record.git!), commit, repositoryOf(into));
  }

  /** Forgets the session's checkpoints: refs and rows (when its events are pruned). */
  async forget(record: SessionRecord): Promise<void> {
    if (record.git) await this.store.removeSession(repositoryOf(record.git), record.id);
    await this.records.deleteAll(record.id);
  }

  private async record(record: SessionRecord, git: SessionGit, turn: number): Promise<void> {
    const previous = (await this.records.list(record.id)).filter((c) => c.turn < turn).pop();
    const { commit, filesChanged } = await this.store.record(
      repositoryOf(git),
      record.id,
      turn,
      previous?.commit,
    );
    const createdAt = new Date().toISOString();
    await this.records.add(record.id, { turn, commit, filesChanged, createdAt });
    // A session ended while its files were read keeps the checkpoint, without an event in a closed log.
    this.log.writeIfOpen(record.id, { type: 'checkpoint', turn, commit, filesChanged });
  }
}

export function repositoryOf(git: SessionGit): Repository {
  return {
    topLevel: git.topLevel,
    commonDir: git.commonDir,
    gitDir: git.gitDir,
    prefix: git.prefix,
    ...(git.base ? { head: git.base } : {}),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
