import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
} from '@nestjs/common';
import type { Observable } from 'rxjs';
import {
  addUsage,
  Checkpoint,
  RewindResult,
  SessionDiff,
  InputMode,
  PendingPermission,
  PermissionDecision,
  SessionEvent,
  SessionResource,
  ShuttingDownError,
  TERMINAL_STATES,
  TurnContent,
  ZERO_USAGE,
} from '@jelmore/contracts';
import { Attachments } from './attachments/attachments.service';
import { ClusterRouting } from './cluster/cluster-routing.service';
import { CommittedBatch, EventLog } from './events/event-log.service';
import { SessionCheckpoints } from './git/session-checkpoints';
import { SessionRepositories } from './git/session-repositories';
import { SessionHistory } from './launch/session-history.service';
import { committedBatches, StreamOptions } from './events/session-stream';
import { SessionLauncher } from './launch/session-launcher.service';
import { SessionPermissions } from './permissions/session-permissions';
import { SessionControl } from './runtime/session-control.service';
import { mayAct, SessionRuntimes } from './runtime/session-runtimes.service';
import { SessionTurns } from './runtime/session-turns.service';
import { SessionWorkspaces } from './session-workspaces';
import { LIVE_STATES } from './sessions.constants';
import { SESSIONS_MODULE_OPTIONS } from './sessions.module-definition';
import type { SessionsModuleOptions } from './sessions.options';
import type { CreateSessionInput, SessionActor, SessionMetrics } from './sessions.types';
import { EventStore } from './store/event-store';
import { SessionStore } from './store/session-store';

/**
 * The sessions as the transports (REST, Socket.IO, SSE) use them. Each step of a session's life is owned
 * elsewhere: SessionLauncher starts agents (and falls back), SessionRuntime holds one running session's
 * state, AgentEventPump logs its events, SessionBudgets stops spending, SessionControl takes commands,
 * ClusterRouting sends them to the node that runs the agent, BootRecovery and SessionCleanupJob look
 * after sessions nobody drives. Here: who may act, whose node acts, and the shutdown.
 */
@Injectable()
export class SessionsService implements OnModuleDestroy, BeforeApplicationShutdown {
  private readonly logger = new Logger(SessionsService.name);
  /** Set as the server begins to shut down: no new session starts here. */
  private shuttingDown = false;

  constructor(
    private readonly store: SessionStore,
    private readonly eventStore: EventStore,
    private readonly log: EventLog,
    private readonly runtimes: SessionRuntimes,
    private readonly launcher: SessionLauncher,
    private readonly control: SessionControl,
    private readonly routing: ClusterRouting,
    private readonly permissions: SessionPermissions,
    private readonly workspaces: SessionWorkspaces,
    private readonly turns: SessionTurns,
    private readonly attachments: Attachments,
    private readonly repositories: SessionRepositories,
    private readonly checkpoints: SessionCheckpoints,
    private readonly history: SessionHistory,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Every batch committed on this node, with its session (see EventLog.committed$). */
  get committed$(): Observable<CommittedBatch> {
    return this.log.committed$;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** The first shutdown hook: from now on new sessions are refused (and readiness fails). */
  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  /**
   * Suspends every running session so it can be resumed after the restart. Runs after every
   * onModuleDestroy and before the store closes (in onApplicationShutdown).
   */
  async beforeApplicationShutdown(): Promise<void> {
    const ids = this.runtimes.live().map((runtime) => runtime.record.id);
    const outcomes = await Promise.allSettled(
      ids.map((id) => this.control.suspend(id, 'server shutting down')),
    );
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'rejected') {
        this.logger.error(`session ${ids[i]} could not be suspended: ${String(outcome.reason)}`);
      }
    });
    this.permissions.close();
    await this.log.flush();
  }

  async create(input: CreateSessionInput): Promise<SessionResource> {
    if (this.shuttingDown) throw new ShuttingDownError();
    return this.launcher.create(input);
  }

  async get(id: string, actor?: SessionActor): Promise<SessionResource> {
    return this.runtimes.resource(await this.runtimes.record(id, actor));
  }

  /** The actor's own sessions (an admin's: all). */
  async list(actor?: SessionActor): Promise<SessionResource[]> {
    const owner = actor && !actor.admin ? actor.id : undefined;
    // A delegating agent sees the sessions it started, and no other.
    const records =
      actor?.delegatedBy !== undefined
        ? (await this.store.childrenOf(actor.delegatedBy)).filter((r) => mayAct(actor, r))
        : await this.store.listSessions({ owner });
    return this.runtimes.resources(records);
  }

  /** Session counts and usage, in all and per provider (sessions of any age): the actor's (an admin's: all). */
  async metrics(actor?: SessionActor): Promise<SessionMetrics> {
    const owner = actor && !actor.admin ? actor.id : undefined;
    const totals = await this.store.totalsByProvider(LIVE_STATES, owner);
    return {
      total_sessions: totals.reduce((n, t) => n + t.sessions, 0),
      active_sessions: totals.reduce((n, t) => n + t.active, 0),
      usage: totals.reduce((sum, t) => addUsage(sum, t.usage), { ...ZERO_USAGE }),
      providers: Object.fromEntries(
        totals.map((t) => [
          t.provider,
          { total_sessions: t.sessions, active_sessions: t.active, usage: t.usage },
        ]),
      ),
    };
  }

  /** Committed events after `after`, at most `limit`. */
  async events(
    id: string,
    after: number,
    limit: number,
    actor?: SessionActor,
  ): Promise<SessionEvent[]> {
    await this.runtimes.record(id, actor);
    return this.eventStore.readEvents(id, after, limit);
  }

  /**
   * The session's events after `after` as an Observable of committed batches: the replay, then live
   * batches as they commit, no gap and no duplicate, until it completes as the session ends. Unsubscribe
   * to leave; a consumer that stays full (see StreamOptions) gets LaggedError. Resolves once the actor
   * may see the session, so a transport can answer NOT_FOUND before it starts a stream.
   */
  async stream(
    id: string,
    after: number,
    actor?: SessionActor,
    options?: StreamOptions,
  ): Promise<Observable<SessionEvent[]>> {
    await this.runtimes.record(id, actor);
    const isEnded = async () =>
      !this.runtimes.has(id) && TERMINAL_STATES.has((await this.runtimes.record(id)).state);
    return committedBatches((sink) => this.log.follow(id, after, isEnded, sink), options);
  }

  /**
   * Starts a turn now when the agent is idle; while one runs, `mode` says how the input is taken:
   * queued (the default), run next after interrupting it, or given to the agent mid-turn (see InputMode).
   */
  async input(
    id: string,
    content: TurnContent,
    actor?: SessionActor,
    mode?: InputMode,
  ): Promise<void> {
    // Checked and kept here, on any node: the node running the agent gets references, not bytes.
    const blocks = await this.turns.take(content, await this.runtimes.record(id, actor), actor);
    const command = {
      op: 'input' as const,
      sessionId: id,
      content: blocks,
      ...(mode ? { mode } : {}),
    };
    if (await this.routing.forwarded(id, actor, command)) return;
    await this.control.input(id, blocks, actor, mode);
  }

  async interrupt(id: string, actor?: SessionActor): Promise<void> {
    if (await this.routing.forwarded(id, actor, { op: 'interrupt', sessionId: id })) return;
    await this.control.interrupt(id, actor);
  }

  /** A client's answer to a tool permission request of the session (see SessionControl). */
  async replyPermission(
    id: string,
    requestId: string,
    decision: PermissionDecision,
    actor?: SessionActor,
  ): Promise<void> {
    const command = { op: 'permission' as const, sessionId: id, requestId, ...decision };
    if (await this.routing.forwarded(id, actor, command)) return;
    await this.control.replyPermission(id, requestId, decision, actor);
  }

  /** The session's tool permission requests still waiting for an answer. */
  async pendingPermissions(id: string, actor?: SessionActor): Promise<PendingPermission[]> {
    const record = await this.runtimes.record(id, actor);
    return this.permissions.pending(record, LIVE_STATES.includes(record.state));
  }

  /** Ends the session for good, and the sessions its agent started (delegation) with it. */
  async terminate(id: string, reason?: string, actor?: SessionActor): Promise<SessionResource> {
    const ended = (await this.routing.forwarded(id, actor, {
      op: 'terminate',
      sessionId: id,
      reason,
    }))
      ? await this.get(id)
      : await this.control.terminate(id, reason, actor);
    for (const child of await this.store.childrenOf(id)) {
      if (TERMINAL_STATES.has(child.state)) continue;
      await this.terminate(child.id, `its parent ${id} ended`).catch((err: unknown) =>
        this.logger.warn(`child ${child.id} of ${id} not ended: ${String(err)}`),
      );
    }
    return ended;
  }

  /** Ends the agent process and keeps what it needs to continue the conversation later. */
  async suspend(id: string, reason?: string, actor?: SessionActor): Promise<SessionResource> {
    if (await this.routing.forwarded(id, actor, { op: 'suspend', sessionId: id, reason })) {
      return this.get(id);
    }
    return this.control.suspend(id, reason, actor);
  }

  /** Continues a suspended or interrupted session in a new agent process; it waits idle for input. */
  async resume(id: string, actor?: SessionActor): Promise<SessionResource> {
    return this.launcher.resume(await this.runtimes.record(id, actor));
  }

  /** Deletes the event logs of sessions that ended longer ago than the retention. */
  async pruneEvents(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.options.eventRetentionSeconds * 1000).toISOString();
    return this.eventStore.pruneEvents(cutoff);
  }

  /** Deletes the attachments only sessions past the events retention used, and older unused uploads. */
  async pruneAttachments(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.options.eventRetentionSeconds * 1000).toISOString();
    return this.attachments.prune(cutoff);
  }

  /**
   * Removes the folders made for sessions that ended longer ago than the retention: their worktrees
   * (a branch with commits stays) and checkpoints first, then the folders made for them.
   */
  async pruneWorkspaces(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.options.eventRetentionSeconds * 1000).toISOString();
    for (const record of await this.store.endedWithRepository(cutoff)) {
      try {
        await this.repositories.release(record);
        await this.checkpoints.forget(record);
        await this.store.updateSession(record.id, { git: null });
      } catch (err) {
        this.logger.warn(`session ${record.id}: repository not released: ${String(err)}`);
      }
    }
    return this.workspaces.removeEnded(cutoff);
  }

  /** The session's checkpoints, oldest first. */
  async checkpointsOf(id: string, actor?: SessionActor): Promise<Checkpoint[]> {
    return this.checkpoints.list(await this.runtimes.record(id, actor));
  }

  /** The changes between two of the session's turns (default: from its start to the files now). */
  async diff(id: string, from?: number, to?: number, actor?: SessionActor): Promise<SessionDiff> {
    return this.checkpoints.diff(await this.runtimes.record(id, actor), from, to);
  }

  /** Puts the session's files, and its conversation where the provider can, back to `turn`. */
  async rewind(id: string, turn: number, actor?: SessionActor): Promise<RewindResult> {
    return this.history.rewind(id, turn, actor);
  }

  /** A new session from the session's conversation and files at `turn` (default: the last). */
  async fork(id: string, turn?: number, actor?: SessionActor): Promise<SessionResource> {
    if (this.shuttingDown) throw new ShuttingDownError();
    return this.history.fork(id, turn, actor);
  }
}
