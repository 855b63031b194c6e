import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  AgentInput,
  AgentSession,
  ErrorCode,
  SessionResource,
  SuspendedState,
  TurnBlock,
} from '@jelmore/contracts';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import { SessionCache } from '../cache/session-cache.service';
import { EventLog } from '../events/event-log.service';
import { SessionCheckpoints } from '../git/session-checkpoints';
import { SessionRepositories } from '../git/session-repositories';
import type { SessionContext } from '../middleware/session-middleware.decorator';
import { SessionPermissions } from '../permissions/session-permissions';
import { AgentEventPump } from '../runtime/agent-event-pump.service';
import { SessionRuntime } from '../runtime/session-runtime';
import { notActive, SessionRuntimes } from '../runtime/session-runtimes.service';
import { SessionTransitions } from '../runtime/session-transitions.service';
import { SessionTurns, titleOf, userContent } from '../runtime/session-turns.service';
import { SessionWorkspaces } from '../session-workspaces';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { CreateSessionInput } from '../sessions.types';
import { type SessionRecord, startingRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';
import { AgentConfigs } from './agent-configs';
import { OpenedAgent, openFirst } from './provider-candidates';
import { SessionDelegation } from './session-delegation';
import { SessionPlanner } from './session-planner';

/**
 * Starts agents: a new session's on the best candidate provider, falling back to the next one while the
 * agent fails before it is heard from; a suspended or interrupted session's again. Once started, an agent
 * is watched until its events end: an exit nobody asked for fails the session.
 */
@Injectable()
export class SessionLauncher {
  private readonly logger = new Logger(SessionLauncher.name);

  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly registry: ProviderRegistry,
    private readonly selector: ProviderSelector,
    private readonly runtimes: SessionRuntimes,
    private readonly transitions: SessionTransitions,
    private readonly pump: AgentEventPump,
    private readonly permissions: SessionPermissions,
    private readonly workspaces: SessionWorkspaces,
    private readonly turns: SessionTurns,
    private readonly repositories: SessionRepositories,
    private readonly checkpoints: SessionCheckpoints,
    private readonly delegation: SessionDelegation,
    private readonly configs: AgentConfigs,
    private readonly planner: SessionPlanner,
    private readonly cache: SessionCache,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  async create(input: CreateSessionInput): Promise<SessionResource> {
    const { id, turn, selection, child, delegation, place, traffic } =
      await this.planner.plan(input);
    const { cwd } = place;
    let opened: OpenedAgent;
    // Kept once nothing but the input middlewares can refuse the session (SessionTurns.first); the agent
    // taken for it goes if they refuse or keeping fails.
    let query: TurnBlock[];
    let agentInput: AgentInput;
    try {
      opened = openFirst(
        this.selector,
        selection,
        this.configs.of({
          id,
          cwd,
          owner: input.owner ?? null,
          permissions: input.permissions ?? null,
          git: place.git,
          delegation,
          depth: child?.depth ?? 0,
        }),
      );
    } catch (err) {
      await this.repositories.discard(id, place.git);
      throw err;
    }
    const session: SessionContext = {
      id,
      owner: input.owner ?? null,
      provider: opened.provider.name,
      model: opened.model.id,
    };
    try {
      ({ query, agentInput } = await this.turns.first(turn, session));
    } catch (err) {
      await opened.agent.terminate().catch(() => undefined);
      await this.repositories.discard(id, place.git);
      throw err;
    }
    const user = this.turns.userEvent(session, query);
    const record = startingRecord({
      id,
      owner: input.owner ?? null,
      provider: opened.provider.name,
      model: opened.model.id,
      cwd,
      nodeId: this.options.nodeId,
      maxBudgetUsd: child ? child.maxBudgetUsd : (input.maxBudgetUsd ?? null),
      permissions: input.permissions ?? null,
      // Of the `user` event as logged: without what the redactor took out of the query.
      title: titleOf(userContent(user)),
      isolation: place.git?.worktree ? 'worktree' : 'none',
      git: place.git,
      parentId: child?.parentId ?? null,
      depth: child?.depth ?? 0,
      delegation,
      ...traffic,
    });
    await this.store.insertSession(record);
    await this.log.open(id, record, { fresh: true });
    await this.delegation.announce(record);
    const runtime = SessionRuntime.launching(record, this.cache.wrap(record, opened.agent), {
      query: agentInput,
      candidates: opened.rest,
      skipped: opened.skipped,
    });
    this.runtimes.add(runtime);
    // Ids and sizes only: the query text itself is never logged.
    this.logger.log({
      msg: 'session created',
      sessionId: id,
      provider: record.provider,
      model: record.model,
      blocks: query.length,
      ...(opened.fallback ? { fallback: opened.fallback } : {}),
      ...(traffic.routing ? { tier: traffic.routing.tier } : {}),
    });
    await this.transitions.transition(record, 'starting', opened.fallback);
    await this.checkpoints.begin(record);
    await this.turns.announce(id, user);
    await this.start(runtime, agentInput);
    return this.runtimes.resource(record);
  }

  /** Continues a suspended or interrupted session in a new agent process; it waits idle for input. */
  async resume(record: SessionRecord): Promise<SessionResource> {
    const { id } = record;
    if (this.runtimes.has(id)) throw notActive(record, 'is already running');
    if (record.state !== 'suspended' && record.state !== 'interrupted') {
      throw notActive(record, `is ${record.state}; only suspended or interrupted sessions resume`);
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
      nodeId: this.options.nodeId,
      state: 'starting',
      updatedAt: new Date().toISOString(),
    });
    if (!claimed) throw notActive(record, 'is being resumed by another request');
    record.nodeId = this.options.nodeId;
    let agent: AgentSession | undefined;
    try {
      // The resumed agent enforces what the session was created with, in its owner's agent home.
      agent = provider.createSession({
        ...this.configs.of({ ...record, cwd }),
        model: state.model,
      });
      await agent.resume({ ...state, cwd });
    } catch (err) {
      // Whatever it started (a process, a slot) ends with the refusal.
      await agent?.terminate().catch(() => undefined);
      await this.store.updateSession(id, { state: record.state });
      throw err;
    }
    await this.log.open(id, record);
    // Requests the agent made before a crash or a lost node waited for this: the agent that asked is gone.
    await this.permissions.cancelAll(record, 'server restarted');
    const runtime = SessionRuntime.resumed(record, agent);
    this.runtimes.add(runtime);
    record.suspendedState = null;
    this.watch(runtime);
    await this.transitions.transition(record, 'idle', 'resumed');
    return this.runtimes.resource(record);
  }

  private async start(runtime: SessionRuntime, query: AgentInput): Promise<void> {
    const { record, agent } = runtime;
    this.watch(runtime);
    try {
      await agent.start(query);
    } catch (err) {
      // Ended meanwhile (terminated while starting): whoever ended it reports the outcome.
      if (!runtime.isLive) throw err;
      if (await this.fallBack(runtime, `${record.provider} could not start (${errorText(err)})`))
        return;
      this.selector.circuit(record.provider).recordFailure();
      await this.fail(runtime, err);
      throw err;
    }
    // Ended while it started, or replaced by a fallback: no longer this launch's to report.
    if (!runtime.isLive || runtime.agent !== agent) return;
    record.providerRef = agent.providerRef ?? null;
    record.agentPid = agent.pid ?? null;
    await this.transitions.transition(record, 'running');
  }

  /**
   * An agent that failed before its first event (crashed at start) hands the session to the next
   * candidate, if there is one: same id and query, a status event naming what was tried and why.
   */
  private async fallBack(runtime: SessionRuntime, why: string): Promise<boolean> {
    const { record, launch } = runtime;
    if (!launch || launch.candidates.length === 0) return false;
    let next: OpenedAgent;
    try {
      next = openFirst(
        this.selector,
        { candidates: launch.candidates, skipped: [...launch.skipped, why] },
        this.configs.of(record),
      );
    } catch {
      return false;
    }
    this.selector.circuit(record.provider).recordFailure();
    runtime.agent.terminate().catch(() => undefined);
    // Before any await: the failed agent's exit, if seen meanwhile, must not fall back a second time.
    runtime.fallBack(this.cache.wrap(record, next.agent), {
      query: launch.query,
      candidates: next.rest,
      skipped: next.skipped,
    });
    this.logger.warn({ msg: 'session fell back', sessionId: record.id, reason: next.fallback });
    record.provider = next.provider.name;
    record.model = next.model.id;
    record.agentPid = null;
    await this.store.updateSession(record.id, {
      provider: record.provider,
      model: record.model,
      agentPid: null,
    });
    await this.transitions.transition(record, 'starting', next.fallback);
    await this.start(runtime, launch.query);
    return true;
  }

  /** Drains the agent's events; when they end without anybody ending the agent, it failed. */
  private watch(runtime: SessionRuntime): void {
    const { agent } = runtime;
    this.pump
      .drain(runtime)
      .then((crash) => this.exited(runtime, agent, crash))
      .catch((err: unknown) => this.logger.error(`session ${runtime.record.id}: ${String(err)}`));
  }

  private async exited(
    runtime: SessionRuntime,
    agent: AgentSession,
    crash: string | undefined,
  ): Promise<void> {
    // Replaced by a fallback while its events drained, or ended on purpose.
    if (runtime.agent !== agent || !runtime.isLive) return;
    const { record } = runtime;
    const why = `${record.provider} failed at start (${crash ?? 'exited'})`;
    if (runtime.state === 'launching' && (await this.fallBack(runtime, why))) return;
    if (!runtime.isLive) return;
    this.selector.circuit(record.provider).recordFailure();
    this.runtimes.remove(runtime);
    await this.permissions.cancelAll(record, 'agent exited');
    record.agentPid = null;
    await this.transitions.transition(record, 'failed', 'agent exited');
    await this.log.close(record.id);
  }

  private async fail(runtime: SessionRuntime, err: unknown): Promise<void> {
    runtime.end();
    this.runtimes.remove(runtime);
    await runtime.agent.terminate().catch(() => undefined);
    const message = errorText(err);
    await this.log.append(runtime.record.id, {
      type: 'error',
      code: ErrorCode.SessionError,
      message,
    });
    await this.transitions.transition(runtime.record, 'failed', message);
    await this.log.close(runtime.record.id);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
