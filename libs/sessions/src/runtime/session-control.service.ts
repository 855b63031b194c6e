import { Injectable } from '@nestjs/common';
import {
  ErrorCode,
  InputMode,
  NotFoundError,
  PermissionDecision,
  SessionError,
  SessionResource,
  TERMINAL_STATES,
  TurnBlock,
} from '@jelmore/contracts';
import { ProviderRegistry } from '@jelmore/providers';
import { SessionBudgets } from '../budgets/session-budgets.service';
import { EventLog } from '../events/event-log.service';
import { SessionRepositories } from '../git/session-repositories';
import { SessionPermissions } from '../permissions/session-permissions';
import type { SessionActor } from '../sessions.types';
import { PermissionRequestStore } from '../store/permission-request-store';
import { SessionStore } from '../store/session-store';
import type { SessionRuntime } from './session-runtime';
import { notActive, SessionRuntimes } from './session-runtimes.service';
import { SessionTransitions } from './session-transitions.service';
import { SessionTurns } from './session-turns.service';

/** The commands a client gives a session whose agent runs on this node (or, to end it, on none). */
@Injectable()
export class SessionControl {
  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly runtimes: SessionRuntimes,
    private readonly transitions: SessionTransitions,
    private readonly budgets: SessionBudgets,
    private readonly permissions: SessionPermissions,
    private readonly permissionRequests: PermissionRequestStore,
    private readonly registry: ProviderRegistry,
    private readonly turns: SessionTurns,
    private readonly repositories: SessionRepositories,
  ) {}

  /**
   * Starts a turn now when the agent is idle. While one runs, by `mode` (see InputMode): queued for a
   * later turn, run next after interrupting this one, or given to the agent mid-turn.
   */
  async input(
    id: string,
    content: TurnBlock[],
    actor?: SessionActor,
    mode: InputMode = 'queue',
  ): Promise<void> {
    const runtime = await this.runtimes.runtime(id, actor);
    const { record } = runtime;
    // Refused in any state, so a client learns it before it matters.
    if (mode === 'steer') this.assertSteers(runtime);
    await this.budgets.checkInput(record);
    // Before the runtime takes it: a refusal, or bytes that are gone, must leave the session as it was.
    const input = await this.turns.input(content, record);
    // Checked again: the session may have begun to end while the budgets and bytes were read.
    if (!runtime.can('input')) throw notActive(record, 'is ending');
    switch (runtime.input(content, mode)) {
      case 'queued':
        return;
      case 'interrupt':
        // Its result takes the input, first in the queue, as the next turn (AgentEventPump).
        return runtime.agent.interrupt();
      case 'steer':
        await this.turns.announce(id, this.turns.userEvent(record, content));
        return runtime.agent.steer!(input);
      case 'send':
        break;
    }
    // The turn's first event, before its `running`.
    await this.turns.announce(id, this.turns.userEvent(record, content));
    await this.transitions.transition(record, 'running');
    await runtime.agent.send(input);
    // Written only when send started a new process (e.g. Claude's --resume): a write per turn was
    // one of the costlier steps of 1,000 turns starting at once, and the row has the pid already.
    const pid = runtime.agent.pid ?? null;
    if (pid === record.agentPid) return;
    record.agentPid = pid;
    await this.store.updateSession(id, { agentPid: pid });
  }

  async interrupt(id: string, actor?: SessionActor): Promise<void> {
    const runtime = await this.runtimes.runtime(id, actor);
    runtime.dropInputs();
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
    const record = await this.runtimes.record(id, actor);
    const runtime = this.runtimes.get(id);
    if (
      runtime &&
      (await this.permissions.answer(record, runtime.agent, requestId, decision, 'client'))
    )
      return;
    const stored = await this.permissionRequests.getPermissionRequest(id, requestId);
    if (stored?.state === 'pending' && !runtime) {
      throw notActive(
        record,
        `is ${record.state}; resume it first (the agent that asked is gone: its requests are then denied)`,
      );
    }
    throw new NotFoundError(
      `No permission request ${requestId} waits for an answer in session ${id}`,
      ErrorCode.PermissionRequestNotFound,
    );
  }

  /** Ends the session: its agent if it runs here, else only its record (suspended, interrupted). */
  async terminate(
    id: string,
    reason = 'terminated by client',
    actor?: SessionActor,
  ): Promise<SessionResource> {
    const record = await this.runtimes.record(id, actor);
    const runtime = this.runtimes.get(id);
    if (runtime) {
      if (!runtime.isLive) throw notActive(record, 'is ending');
      runtime.end();
      await runtime.agent.terminate();
      this.runtimes.remove(runtime);
    } else {
      if (TERMINAL_STATES.has(record.state)) return this.runtimes.resource(record);
      await this.log.open(id, record);
    }
    await this.permissions.cancelAll(record, `session terminated (${reason})`);
    await this.transitions.transition(record, 'terminated', reason);
    await this.log.close(id);
    await this.repositories.release(record);
    return this.runtimes.resource(record);
  }

  /** Ends the agent process and keeps what it needs to continue the conversation later. */
  async suspend(
    id: string,
    reason = 'suspended by client',
    actor?: SessionActor,
  ): Promise<SessionResource> {
    const runtime = await this.runtimes.runtime(id, actor);
    const { record } = runtime;
    runtime.end();
    const state = await runtime.agent.suspend();
    this.runtimes.remove(runtime);
    // The agent that asked is gone; a resumed one does not ask again.
    await this.permissions.cancelAll(record, `session suspended (${reason})`);
    record.suspendedState = state;
    record.providerRef = state.providerRef ?? record.providerRef;
    record.agentPid = null;
    await this.transitions.transition(record, 'suspended', reason);
    // Another node may resume it and go on numbering its events.
    await this.log.release(id);
    return this.runtimes.resource(record);
  }

  /** Steer needs a provider that says it can, and an agent that takes it. */
  private assertSteers(runtime: SessionRuntime): void {
    const { record, agent } = runtime;
    const provider = this.registry.has(record.provider)
      ? this.registry.get(record.provider)
      : undefined;
    if (provider?.capabilities.steer && agent.steer) return;
    throw new SessionError(
      `Provider '${record.provider}' cannot take input mid-turn (capabilities.steer is false): ` +
        `send it with mode queue or interrupt`,
      record.provider,
      record.id,
      ErrorCode.SteerUnsupported,
    );
  }
}
