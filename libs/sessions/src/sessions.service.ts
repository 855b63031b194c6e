import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Subject } from 'rxjs';
import {
  addUsage,
  AgentSession,
  ErrorCode,
  BudgetExceededError,
  NotFoundError,
  PendingPermission,
  PermissionDecision,
  PermissionPolicy,
  SessionConfig,
  ProviderUnavailableError,
  RateLimitedError,
  SessionError,
  SessionEvent,
  SessionEventDraft,
  SessionResource,
  SessionState,
  ShuttingDownError,
  SuspendedState,
  TERMINAL_STATES,
  Usage,
  ValidationError,
  ZERO_USAGE,
} from '@jelmore/contracts';
import {
  killLeftover,
  ProviderCandidate,
  ProviderRegistry,
  ProviderSelector,
  SessionRequirements,
} from '@jelmore/providers';
import type { ClusterCommand, SessionsCluster } from './cluster/sessions-cluster';
import { EventLog } from './events/event-log.service';
import type { EventSink, LogSubscription } from './events/log-subscription';
import { SessionPermissions } from './permissions/session-permissions';
import { SESSIONS_MODULE_OPTIONS } from './sessions.module-definition';
import type { SessionsModuleOptions } from './sessions.options';
import { SessionStore } from './store/session-store';
import { SessionRecord, toResource } from './store/session-record';
import { SessionWorkspaces } from './session-workspaces';

/** Who acts on a session: its owner, or an admin. Without one (internal jobs) nothing is checked. */
export interface SessionActor {
  id: string;
  admin: boolean;
}

export interface CreateSessionInput {
  query: string;
  provider?: string;
  model?: string;
  cwd?: string;
  owner?: string;
  requirements?: SessionRequirements;
  /** The turn in which the session's cost reaches this stops, and no further input is taken. */
  maxBudgetUsd?: number;
  /** How tool calls are permitted; the provider's configured behaviour when absent. */
  permissions?: PermissionPolicy;
}

export interface CommittedEvent {
  record: SessionRecord;
  event: SessionEvent;
}

export interface SessionMetrics {
  total_sessions: number;
  active_sessions: number;
  usage: Usage;
  providers: Record<string, { total_sessions: number; active_sessions: number; usage: Usage }>;
}

/** A session whose agent runs in this process. */
interface Runtime {
  record: SessionRecord;
  agent: AgentSession;
  /** Inputs received while a turn runs, sent one per turn. */
  inputs: string[];
  /** Set when we end the agent on purpose, so its exit is not a failure. */
  ending: boolean;
  /** The running turn's estimated usage, until the provider's own figure for the turn arrives. */
  estimate: Usage;
  /** Set once a budget stopped the session, so the error is reported once. */
  budgetStopped: boolean;
  /** Until the agent's first event: what a fallback to the next candidate needs. */
  startup?: { query: string; candidates: ProviderCandidate[]; skipped: string[] };
}

function freshRuntimeState(): Omit<Runtime, 'record' | 'agent'> {
  return { inputs: [], ending: false, estimate: { ...ZERO_USAGE }, budgetStopped: false };
}

/** What the agents' command lines contain: a leftover pid is ended only if it still runs one of them. */
const AGENT_COMMANDS = ['claude', 'opencode', 'codex', 'gemini'];

/** States in which an agent process may still be running for a session. */
const LIVE_STATES: SessionState[] = ['starting', 'running', 'idle'];

@Injectable()
export class SessionsService
  implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown
{
  private readonly logger = new Logger(SessionsService.name);
  private readonly runtimes = new Map<string, Runtime>();
  /** Every committed event with its session, for observers such as the metrics. */
  readonly committed$ = new Subject<CommittedEvent>();
  private cluster?: SessionsCluster;
  /** Set as the server begins to shut down: no new session starts here. */
  private shuttingDown = false;
  private readonly permissions: SessionPermissions;
  private readonly workspaces: SessionWorkspaces;

  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly registry: ProviderRegistry,
    private readonly selector: ProviderSelector,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {
    this.permissions = new SessionPermissions(
      store,
      options.permissionTimeoutSeconds * 1000,
      (record, draft) => this.append(record, draft),
    );
    this.workspaces = new SessionWorkspaces(options, store);
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** Joins a cluster: commands for sessions of other nodes go to them, committed events reach them. */
  useCluster(cluster: SessionsCluster): void {
    this.cluster = cluster;
    this.log.useRelay((sessionId, batch) => cluster.publish(sessionId, batch));
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** The first shutdown hook: from now on new sessions are refused (and readiness fails). */
  onModuleDestroy(): void {
    this.shuttingDown = true;
  }

  /**
   * Sessions left live by a previous process of this node were cut off: mark them interrupted, end their
   * agents. In a cluster, other nodes' sessions are theirs (or, if they died, the reaper's).
   */
  async onApplicationBootstrap(): Promise<void> {
    for (const record of await this.store.listSessions({ states: LIVE_STATES })) {
      if (this.runtimes.has(record.id)) continue;
      if (this.cluster && record.nodeId !== null && record.nodeId !== this.nodeId) continue;
      if (record.agentPid) killLeftover(record.agentPid, AGENT_COMMANDS);
      await this.log.open(record.id);
      await this.transition(record, 'interrupted', 'server restarted');
    }
  }

  /**
   * Suspends every running session so it can be resumed after the restart. Runs after every
   * onModuleDestroy and before the store closes (in onApplicationShutdown).
   */
  async beforeApplicationShutdown(): Promise<void> {
    const ids = [...this.runtimes.keys()];
    const outcomes = await Promise.allSettled(
      ids.map((id) => this.suspend(id, 'server shutting down')),
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
    if (input.owner) await this.checkOwnerBudget(input.owner);
    const selection = this.selector.select({
      provider: input.provider,
      model: input.model,
      requirements: input.requirements,
    });
    // Warm start: the first candidate may have an agent started ahead for this request, under its own id.
    const [first] = selection.candidates;
    const id =
      first?.provider.claimWarmSession?.({
        model: first.model.id,
        cwd: input.cwd,
        permissions: input.permissions,
      }) ?? randomUUID();
    const cwd = await this.workspaces.resolve(id, input.cwd, input.owner);
    const { provider, model, agent, fallback, rest, skipped } = this.open(selection, {
      sessionId: id,
      cwd,
      permissions: input.permissions,
      tenant: input.owner,
    });
    const now = new Date().toISOString();
    const record: SessionRecord = {
      id,
      owner: input.owner ?? null,
      provider: provider.name,
      model: model.id,
      state: 'starting',
      cwd,
      providerRef: null,
      suspendedState: null,
      usage: { ...ZERO_USAGE },
      createdAt: now,
      updatedAt: now,
      nodeId: this.nodeId,
      agentPid: null,
      maxBudgetUsd: input.maxBudgetUsd ?? null,
      permissions: input.permissions ?? null,
    };
    await this.store.insertSession(record);
    await this.log.open(id);
    const runtime: Runtime = {
      record,
      agent,
      ...freshRuntimeState(),
      startup: { query: input.query, candidates: rest, skipped },
    };
    this.runtimes.set(id, runtime);
    // Ids and sizes only: the query text itself is never logged.
    this.logger.log({
      msg: 'session created',
      sessionId: id,
      provider: provider.name,
      model: model.id,
      queryLength: input.query.length,
      ...(fallback ? { fallback } : {}),
    });
    await this.transition(record, 'starting', fallback);
    await this.start(runtime, input.query);
    return this.resource(record);
  }

  private async start(runtime: Runtime, query: string): Promise<void> {
    const { record, agent } = runtime;
    this.pump(runtime);
    try {
      await agent.start(query);
    } catch (err) {
      if (await this.fallBack(runtime, `${record.provider} could not start (${errorText(err)})`))
        return;
      this.selector.circuit(record.provider).recordFailure();
      await this.fail(runtime, err);
      throw err;
    }
    record.providerRef = agent.providerRef ?? null;
    record.agentPid = agent.pid ?? null;
    await this.transition(record, 'running');
  }

  /**
   * An agent that failed before its first event (crashed at start) hands the session to the next
   * candidate, if there is one: same id and query, a status event naming what was tried and why.
   */
  private async fallBack(runtime: Runtime, why: string): Promise<boolean> {
    const { record, startup } = runtime;
    if (!startup || startup.candidates.length === 0) return false;
    let next: ReturnType<SessionsService['open']>;
    try {
      next = this.open(
        { candidates: startup.candidates, skipped: [...startup.skipped, why] },
        {
          sessionId: record.id,
          cwd: record.cwd,
          permissions: record.permissions ?? undefined,
          tenant: record.owner ?? undefined,
        },
      );
    } catch {
      return false;
    }
    this.selector.circuit(record.provider).recordFailure();
    runtime.agent.terminate().catch(() => undefined);
    this.logger.warn({ msg: 'session fell back', sessionId: record.id, reason: next.fallback });
    record.provider = next.provider.name;
    record.model = next.model.id;
    record.agentPid = null;
    await this.store.updateSession(record.id, {
      provider: record.provider,
      model: record.model,
      agentPid: null,
    });
    runtime.agent = next.agent;
    runtime.startup = { query: startup.query, candidates: next.rest, skipped: next.skipped };
    await this.transition(record, 'starting', next.fallback);
    await this.start(runtime, startup.query);
    return true;
  }

  /**
   * The first candidate that takes the session. One that is unavailable (disabled, unhealthy binary,
   * at capacity) is skipped; the reason is kept for the session's first status event. With a
   * permission policy, only providers that enforce it are candidates.
   */
  private open(
    selection: { candidates: ProviderCandidate[]; skipped: string[] },
    config: Omit<SessionConfig, 'model'>,
  ): ProviderCandidate & {
    agent: AgentSession;
    fallback?: string;
    /** The candidates after this one, and why those before it were passed over. */
    rest: ProviderCandidate[];
    skipped: string[];
  } {
    const { candidates, skipped } = enforcing(selection, config.permissions);
    const overRate: RateLimitedError[] = [];
    for (const [index, candidate] of candidates.entries()) {
      try {
        const admitted = this.selector.admitStart(candidate.provider.name);
        const agent = candidate.provider.createSession({
          ...config,
          model: candidate.model.id,
        });
        admitted();
        this.selector.circuit(candidate.provider.name).begin();
        const fallback = skipped.length
          ? `fell back to ${candidate.provider.name}: ${skipped.join('; ')}`
          : undefined;
        return { ...candidate, agent, fallback, rest: candidates.slice(index + 1), skipped };
      } catch (err) {
        if (err instanceof RateLimitedError) {
          overRate.push(err);
          skipped.push(`${candidate.provider.name} rate limited (${err.message})`);
        } else if (err instanceof ProviderUnavailableError) {
          skipped.push(`${candidate.provider.name} unavailable (${err.message})`);
        } else throw err;
        if (candidates.length === 1) throw err;
      }
    }
    if (overRate.length === candidates.length) {
      throw new RateLimitedError(
        `Every candidate is over its session rate: ${skipped.join('; ')}`,
        Math.min(...overRate.map((e) => e.retryAfter)),
      );
    }
    throw new ProviderUnavailableError('any', `every candidate refused: ${skipped.join('; ')}`);
  }

  async get(id: string, actor?: SessionActor): Promise<SessionResource> {
    return this.resource(await this.record(id, actor));
  }

  /** The actor's own sessions (an admin's: all). */
  async list(actor?: SessionActor): Promise<SessionResource[]> {
    const owner = actor && !actor.admin ? actor.id : undefined;
    const records = await this.store.listSessions({ owner });
    return Promise.all(records.map((r) => this.resource(r)));
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
    await this.record(id, actor);
    return this.store.readEvents(id, after, limit);
  }

  /** Replay from the log to `sink`, then live batches until the session ends or it is closed. */
  async follow(
    id: string,
    after: number,
    sink: EventSink,
    actor?: SessionActor,
  ): Promise<LogSubscription> {
    await this.record(id, actor);
    const isEnded = async () =>
      !this.runtimes.has(id) && TERMINAL_STATES.has((await this.record(id)).state);
    return this.log.follow(id, after, isEnded, sink);
  }

  /** Starts a turn now when the agent is idle; queues it for the next turn while one runs. */
  async input(id: string, text: string, actor?: SessionActor): Promise<void> {
    if (await this.forwarded(id, actor, { op: 'input', sessionId: id, text })) return;
    const runtime = await this.runtime(id, actor);
    const budget = runtime.record.maxBudgetUsd;
    if (budget !== null && runtime.record.usage.costUsd >= budget) {
      throw new BudgetExceededError('session', budget, runtime.record.usage.costUsd);
    }
    if (runtime.record.owner) await this.checkOwnerBudget(runtime.record.owner);
    // An estimate may have stopped the last turn where the provider's figure then stayed within budget.
    runtime.budgetStopped = false;
    if (runtime.record.state === 'idle') {
      await this.transition(runtime.record, 'running');
      await runtime.agent.send(text);
      runtime.record.agentPid = runtime.agent.pid ?? null;
      await this.store.updateSession(id, { agentPid: runtime.record.agentPid });
    } else {
      runtime.inputs.push(text);
    }
  }

  async interrupt(id: string, actor?: SessionActor): Promise<void> {
    if (await this.forwarded(id, actor, { op: 'interrupt', sessionId: id })) return;
    const runtime = await this.runtime(id, actor);
    runtime.inputs.length = 0;
    await runtime.agent.interrupt();
  }

  /**
   * A client's answer to a tool permission request of the session. A request that does not wait for
   * one (unknown, answered, timed out, withdrawn) is NOT_FOUND; one whose agent was lost with an earlier
   * server process waits for the session to resume (which denies it).
   */
  async replyPermission(
    id: string,
    requestId: string,
    decision: PermissionDecision,
    actor?: SessionActor,
  ): Promise<void> {
    const command = { op: 'permission' as const, sessionId: id, requestId, ...decision };
    if (await this.forwarded(id, actor, command)) return;
    const record = await this.record(id, actor);
    const runtime = this.runtimes.get(id);
    if (
      runtime &&
      (await this.permissions.answer(record, runtime.agent, requestId, decision, 'client'))
    )
      return;
    const stored = await this.store.getPermissionRequest(id, requestId);
    if (stored?.state === 'pending' && !runtime) {
      throw this.notActive(
        record,
        `is ${record.state}; resume it first (the agent that asked is gone: its requests are then denied)`,
      );
    }
    throw new NotFoundError(
      `No permission request ${requestId} waits for an answer in session ${id}`,
      ErrorCode.PermissionRequestNotFound,
    );
  }

  /** The session's tool permission requests still waiting for an answer. */
  async pendingPermissions(id: string, actor?: SessionActor): Promise<PendingPermission[]> {
    const record = await this.record(id, actor);
    return this.permissions.pending(record, LIVE_STATES.includes(record.state));
  }

  async terminate(
    id: string,
    reason = 'terminated by client',
    actor?: SessionActor,
  ): Promise<SessionResource> {
    if (await this.forwarded(id, actor, { op: 'terminate', sessionId: id, reason })) {
      return this.get(id);
    }
    await this.record(id, actor);
    const runtime = this.runtimes.get(id);
    if (runtime) {
      runtime.ending = true;
      await runtime.agent.terminate();
      this.runtimes.delete(id);
      await this.permissions.cancelAll(runtime.record, `session terminated (${reason})`);
      await this.transition(runtime.record, 'terminated', reason);
      await this.log.close(id);
      return this.resource(runtime.record);
    }
    const record = await this.record(id);
    if (TERMINAL_STATES.has(record.state)) return this.resource(record);
    await this.log.open(id);
    await this.permissions.cancelAll(record, `session terminated (${reason})`);
    await this.transition(record, 'terminated', reason);
    await this.log.close(id);
    return this.resource(record);
  }

  /** Ends the agent process and keeps what it needs to continue the conversation later. */
  async suspend(
    id: string,
    reason = 'suspended by client',
    actor?: SessionActor,
  ): Promise<SessionResource> {
    if (await this.forwarded(id, actor, { op: 'suspend', sessionId: id, reason })) {
      return this.get(id);
    }
    const runtime = await this.runtime(id, actor);
    runtime.ending = true;
    const state = await runtime.agent.suspend();
    this.runtimes.delete(id);
    // The agent that asked is gone; a resumed one does not ask again.
    await this.permissions.cancelAll(runtime.record, `session suspended (${reason})`);
    runtime.record.suspendedState = state;
    runtime.record.providerRef = state.providerRef ?? runtime.record.providerRef;
    runtime.record.agentPid = null;
    await this.transition(runtime.record, 'suspended', reason);
    // Another node may resume it and go on numbering its events.
    await this.log.release(id);
    return this.resource(runtime.record);
  }

  /** Continues a suspended or interrupted session in a new agent process; it waits idle for input. */
  async resume(id: string, actor?: SessionActor): Promise<SessionResource> {
    const record = await this.record(id, actor);
    if (this.runtimes.has(id)) throw this.notActive(record, 'is already running');
    if (record.state !== 'suspended' && record.state !== 'interrupted') {
      throw this.notActive(
        record,
        `is ${record.state}; only suspended or interrupted sessions resume`,
      );
    }
    const state: SuspendedState = record.suspendedState ?? {
      provider: record.provider,
      model: record.model,
      cwd: record.cwd,
      providerRef: record.providerRef ?? undefined,
    };
    const cwd = await this.workspaces.resolve(id, state.cwd, record.owner);
    const provider = this.registry.get(record.provider);
    // One conditional update decides which node runs it, should two resume it at once.
    const claimed = await this.store.claimSession(id, {
      fromStates: [record.state],
      nodeId: this.nodeId,
      state: 'starting',
      updatedAt: new Date().toISOString(),
    });
    if (!claimed) throw this.notActive(record, 'is being resumed by another request');
    record.nodeId = this.nodeId;
    let agent: AgentSession;
    try {
      agent = provider.createSession({
        sessionId: id,
        cwd,
        model: state.model,
        // The resumed agent enforces what the session was created with, in its owner's agent home.
        ...(record.permissions ? { permissions: record.permissions } : {}),
        ...(record.owner ? { tenant: record.owner } : {}),
      });
      await agent.resume({ ...state, cwd });
    } catch (err) {
      await this.store.updateSession(id, { state: record.state });
      throw err;
    }
    await this.log.open(id);
    // Requests the agent made before a crash or a lost node waited for this: the agent that asked is gone.
    await this.permissions.cancelAll(record, 'server restarted');
    const runtime: Runtime = { record, agent, ...freshRuntimeState() };
    this.runtimes.set(id, runtime);
    record.suspendedState = null;
    this.pump(runtime);
    await this.transition(record, 'idle', 'resumed');
    return this.resource(record);
  }

  /**
   * A command for a session whose agent runs on another live node goes there. A session left by a node
   * that died is marked interrupted first, and then handled here like any other.
   */
  private async forwarded(
    id: string,
    actor: SessionActor | undefined,
    command: ClusterCommand,
  ): Promise<boolean> {
    if (!this.cluster || this.runtimes.has(id)) return false;
    const record = await this.record(id, actor);
    const owner = record.nodeId;
    if (owner === null || owner === this.nodeId || !LIVE_STATES.includes(record.state))
      return false;
    if (await this.cluster.isAlive(owner)) {
      await this.cluster.forward(owner, command);
      return true;
    }
    await this.reapNode(owner);
    return false;
  }

  /** Runs a command another node forwarded (its caller was authorized there). */
  async execute(command: ClusterCommand): Promise<void> {
    if (!this.runtimes.has(command.sessionId)) {
      const record = await this.record(command.sessionId);
      throw this.notActive(record, `does not run on node ${this.nodeId}`);
    }
    switch (command.op) {
      case 'input':
        return this.input(command.sessionId, command.text);
      case 'interrupt':
        return this.interrupt(command.sessionId);
      case 'suspend':
        await this.suspend(command.sessionId, command.reason);
        return;
      case 'terminate':
        await this.terminate(command.sessionId, command.reason);
        return;
      case 'permission':
        return this.replyPermission(command.sessionId, command.requestId, {
          allow: command.allow,
          ...(command.reason ? { reason: command.reason } : {}),
        });
    }
  }

  /** Sessions of nodes whose lease expired are marked interrupted, so any node can resume them. */
  async reapLostNodes(): Promise<number> {
    const cluster = this.cluster;
    if (!cluster) return 0;
    const orphans = await this.store.listSessionsByState(LIVE_STATES, {
      exceptNodeIds: [this.nodeId],
    });
    const nodes = new Set(orphans.map((r) => r.nodeId).filter((n): n is string => n !== null));
    let reaped = 0;
    for (const node of nodes) {
      if (!(await cluster.isAlive(node))) reaped += await this.reapNode(node);
    }
    return reaped;
  }

  private async reapNode(nodeId: string): Promise<number> {
    const now = new Date().toISOString();
    // Conditional: of two nodes reaping at once, each session is reported by one.
    const changed = await this.store.markInterrupted(nodeId, {
      fromStates: LIVE_STATES,
      updatedAt: now,
    });
    for (const { id, from } of changed) {
      const record = await this.store.getSession(id);
      if (!record) continue;
      const reason = `node ${nodeId} was lost`;
      this.logger.warn({ msg: 'session state', sessionId: id, from, to: 'interrupted', reason });
      await this.log.open(id);
      await this.append(record, { type: 'status', from, to: 'interrupted', reason });
      await this.log.release(id);
    }
    return changed.length;
  }

  /** Ends sessions nobody used for the TTL: idle ones here, and suspended or interrupted ones. */
  async expireIdle(now = Date.now()): Promise<number> {
    const cutoff = now - this.options.sessionTtlSeconds * 1000;
    const candidates = await this.store.listSessions({
      states: ['idle', 'suspended', 'interrupted'],
    });
    let ended = 0;
    for (const record of candidates) {
      const current = this.runtimes.get(record.id)?.record ?? record;
      if (current.state === 'running' || Date.parse(current.updatedAt) > cutoff) continue;
      await this.terminate(record.id, 'expired');
      ended++;
    }
    return ended;
  }

  /** Deletes the event logs of sessions that ended longer ago than the retention. */
  async pruneEvents(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.options.eventRetentionSeconds * 1000).toISOString();
    return this.store.pruneEvents(cutoff);
  }

  /** Removes the folders made for sessions that ended longer ago than the retention. */
  async pruneWorkspaces(now = Date.now()): Promise<number> {
    const cutoff = new Date(now - this.options.eventRetentionSeconds * 1000).toISOString();
    return this.workspaces.removeEnded(cutoff);
  }

  private pump(runtime: Runtime): void {
    const run = async () => {
      const { agent } = runtime;
      let crash: string | undefined;
      for await (const draft of agent.events()) {
        if (draft.type === 'error' && runtime.startup) crash = draft.message;
        const handling = this.onAgentEvent(runtime, draft);
        if (handling) await handling;
      }
      // Replaced by a fallback while this loop drained.
      if (runtime.agent !== agent) return;
      if (
        !runtime.ending &&
        runtime.startup &&
        (await this.fallBack(
          runtime,
          `${runtime.record.provider} failed at start (${crash ?? 'exited'})`,
        ))
      ) {
        return;
      }
      if (!runtime.ending) {
        this.selector.circuit(runtime.record.provider).recordFailure();
        this.runtimes.delete(runtime.record.id);
        await this.permissions.cancelAll(runtime.record, 'agent exited');
        runtime.record.agentPid = null;
        await this.transition(runtime.record, 'failed', 'agent exited');
        await this.log.close(runtime.record.id);
      }
    };
    run().catch((err: unknown) =>
      this.logger.error(`session ${runtime.record.id}: ${String(err)}`),
    );
  }

  /**
   * Logs an agent's event. Most events need nothing more and get no promise: this runs for every event
   * of every session. Those that do (permissions, usage, the cwd, the end of a turn) return the promise
   * of that work, and the agent's next event waits for it.
   */
  private onAgentEvent(runtime: Runtime, draft: SessionEventDraft): Promise<void> | undefined {
    if (draft.type !== 'error') runtime.startup = undefined;
    switch (draft.type) {
      case 'permission_request':
      case 'permission_resolved':
      case 'usage':
      case 'directory_changed':
      case 'result':
        return this.onAgentControlEvent(runtime, draft);
      default:
        this.logAgentEvent(runtime.record, draft);
        return undefined;
    }
  }

  /**
   * Not awaited: seq order is fixed on append, and waiting per event would cap a session at one event per
   * commit interval. A log already closed (the session is ending) drops the event.
   */
  private logAgentEvent(record: SessionRecord, draft: SessionEventDraft): void {
    if (this.log.lastSeq(record.id) === undefined) return;
    this.log.write(record.id, draft, (event) => this.committed$.next({ record, event }));
  }

  private async onAgentControlEvent(runtime: Runtime, draft: SessionEventDraft): Promise<void> {
    const { record } = runtime;
    if (draft.type === 'permission_request') {
      // An agent being stopped asks nobody: it could not hear the answer.
      if (runtime.ending) return;
      await this.permissions.opened(record, draft, runtime.agent);
    }
    if (draft.type === 'permission_resolved' && !(await this.permissions.withdrawn(record, draft)))
      return;
    this.logAgentEvent(record, draft);
    switch (draft.type) {
      case 'usage':
        if (draft.estimated) {
          runtime.estimate = addUsage(runtime.estimate, draft);
        } else {
          record.usage = addUsage(record.usage, draft);
          runtime.estimate = { ...ZERO_USAGE };
          await this.store.updateSession(record.id, { usage: record.usage });
        }
        await this.enforceBudget(runtime);
        break;
      case 'directory_changed':
        // Reported as it happened, but only a directory its owner may use becomes the cwd a resume uses.
        if (await this.workspaces.mayUse(record.owner, draft.to)) {
          record.cwd = draft.to;
          await this.store.updateSession(record.id, { cwd: record.cwd });
        }
        break;
      case 'result': {
        this.selector.circuit(record.provider).recordSuccess();
        record.providerRef = runtime.agent.providerRef ?? record.providerRef;
        const next = runtime.inputs.shift();
        if (next !== undefined) await runtime.agent.send(next);
        else await this.transition(record, 'idle');
        break;
      }
      default:
        break;
    }
  }

  /** Throws when the owner (API key) has spent its budget, if it has one. */
  private async checkOwnerBudget(owner: string): Promise<void> {
    const error = await this.ownerBudgetError(owner);
    if (error) throw error;
  }

  /** `pending`: spending not in the store yet (the running turn's estimate). */
  private async ownerBudgetError(
    owner: string,
    pending = 0,
  ): Promise<BudgetExceededError | undefined> {
    const limit = this.options.ownerBudgetsUsd[owner];
    if (limit === undefined) return undefined;
    const spent = (await this.store.costByOwner(owner)) + pending;
    return spent >= limit
      ? new BudgetExceededError('key', limit, Math.round(spent * 1e9) / 1e9)
      : undefined;
  }

  /**
   * A session that spent its budget, or its key's, stops its turn and takes no more input. Checked on
   * every usage event, estimates included, so a turn stops between two model calls.
   */
  private async enforceBudget(runtime: Runtime): Promise<void> {
    const { record } = runtime;
    if (runtime.budgetStopped) return;
    const spent = addUsage(record.usage, runtime.estimate).costUsd;
    const error =
      record.maxBudgetUsd !== null && spent >= record.maxBudgetUsd
        ? new BudgetExceededError('session', record.maxBudgetUsd, spent)
        : record.owner
          ? await this.ownerBudgetError(record.owner, runtime.estimate.costUsd)
          : undefined;
    if (!error) return;
    runtime.budgetStopped = true;
    runtime.inputs.length = 0;
    this.append(record, { type: 'error', code: error.code, message: error.message }).catch(
      () => undefined,
    );
    if (record.state === 'running') await runtime.agent.interrupt();
  }

  private async fail(runtime: Runtime, err: unknown): Promise<void> {
    runtime.ending = true;
    this.runtimes.delete(runtime.record.id);
    await runtime.agent.terminate().catch(() => undefined);
    const message = errorText(err);
    await this.append(runtime.record, { type: 'error', code: ErrorCode.SessionError, message });
    await this.transition(runtime.record, 'failed', message);
    await this.log.close(runtime.record.id);
  }

  /** Records a state change and logs it as a status event. */
  private async transition(
    record: SessionRecord,
    to: SessionState,
    reason?: string,
  ): Promise<void> {
    const from = record.state === to && to === 'starting' ? null : record.state;
    this.logger.log({
      msg: 'session state',
      sessionId: record.id,
      provider: record.provider,
      model: record.model,
      from,
      to,
      ...(reason ? { reason } : {}),
    });
    record.state = to;
    record.updatedAt = new Date().toISOString();
    // The status event first (its seq follows every event before this change, often in their batch),
    // then the row, which other nodes read: it changes only once those events are committed.
    await this.append(record, { type: 'status', from, to, ...(reason ? { reason } : {}) });
    await this.store.updateSession(record.id, {
      // Not `to`: a later change may have come meanwhile; the row takes the latest.
      state: record.state,
      updatedAt: record.updatedAt,
      providerRef: record.providerRef,
      agentPid: record.agentPid,
      suspendedState: record.suspendedState,
    });
  }

  /** Appends to the log and, once committed, tells observers (metrics) with the session it belongs to. */
  private async append(record: SessionRecord, draft: SessionEventDraft): Promise<void> {
    const event = await this.log.append(record.id, draft);
    this.committed$.next({ record, event });
  }

  /** The session, if the actor may see it: another key's session is reported as missing. */
  private async record(id: string, actor?: SessionActor): Promise<SessionRecord> {
    const record = this.runtimes.get(id)?.record ?? (await this.store.getSession(id));
    if (!record || (actor && !actor.admin && record.owner !== actor.id)) {
      throw new NotFoundError(`Session ${id} not found`, ErrorCode.SessionNotFound);
    }
    return record;
  }

  private async runtime(id: string, actor?: SessionActor): Promise<Runtime> {
    const record = await this.record(id, actor);
    const runtime = this.runtimes.get(id);
    if (runtime) return runtime;
    throw this.notActive(
      record,
      `is ${record.state}${record.state === 'suspended' || record.state === 'interrupted' ? '; resume it first' : ''}`,
    );
  }

  private notActive(record: SessionRecord, why: string): SessionError {
    return new SessionError(
      `Session ${record.id} ${why}`,
      record.provider,
      record.id,
      ErrorCode.SessionNotActive,
    );
  }

  private async resource(record: SessionRecord): Promise<SessionResource> {
    await this.log.committed(record.id);
    return toResource(record, await this.lastSeq(record.id));
  }

  /** The last seq assigned: the log knows it while the session is open here, else the store. */
  private async lastSeq(id: string): Promise<number> {
    return this.log.lastSeq(id) ?? (await this.store.lastSeq(id));
  }
}

/** The candidates that enforce the policy (others are left out unmentioned); refused when none does. */
function enforcing(
  selection: { candidates: ProviderCandidate[]; skipped: string[] },
  permissions: PermissionPolicy | undefined,
): { candidates: ProviderCandidate[]; skipped: string[] } {
  const skipped = [...selection.skipped];
  if (!permissions) return { candidates: selection.candidates, skipped };
  const able = selection.candidates.filter((c) =>
    c.provider.capabilities.permissions?.includes(permissions),
  );
  if (able.length === 0 && selection.candidates.length > 0) {
    const names = [...new Set(selection.candidates.map((c) => c.provider.name))];
    throw new ValidationError(
      `permissions '${permissions}' is not enforced by ${names.join(', ')}`,
    );
  }
  return { candidates: able, skipped };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
