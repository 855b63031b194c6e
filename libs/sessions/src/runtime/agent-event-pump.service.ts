import { Injectable } from '@nestjs/common';
import { AgentInput, JelmoreError, type SessionEventDraft } from '@jelmore/contracts';
import { ProviderSelector } from '@jelmore/providers';
import { SessionBudgets } from '../budgets/session-budgets.service';
import { EventLog } from '../events/event-log.service';
import { SessionPermissions } from '../permissions/session-permissions';
import { SessionCheckpoints } from '../git/session-checkpoints';
import { SessionWorkspaces } from '../session-workspaces';
import type { SessionRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';
import type { SessionRuntime } from './session-runtime';
import { SessionTransitions } from './session-transitions.service';
import { SessionTurns } from './session-turns.service';

/**
 * Takes an agent's `events()` into the session's log, one event at a time as the provider yields them,
 * and acts on those that change the session: permission requests, usage and budgets, the cwd, the end
 * of a turn. What subscribers get are the log's committed batches (see committedBatches).
 */
@Injectable()
export class AgentEventPump {
  constructor(
    private readonly log: EventLog,
    private readonly store: SessionStore,
    private readonly permissions: SessionPermissions,
    private readonly workspaces: SessionWorkspaces,
    private readonly budgets: SessionBudgets,
    private readonly selector: ProviderSelector,
    private readonly transitions: SessionTransitions,
    private readonly turns: SessionTurns,
    private readonly checkpoints: SessionCheckpoints,
  ) {}

  /**
   * Logs the agent's events until their stream ends. Resolves with the error the agent reported before
   * it was heard from, if any: why its launch failed.
   */
  async drain(runtime: SessionRuntime): Promise<string | undefined> {
    let crash: string | undefined;
    for await (const draft of runtime.agent.events()) {
      if (runtime.state === 'launching') {
        if (draft.type === 'error') crash = draft.message;
        else {
          runtime.heard();
          await this.keepProviderRef(runtime);
        }
      }
      const handling = this.onAgentEvent(runtime, draft);
      if (handling) await handling;
    }
    return crash;
  }

  /**
   * An agent that names its conversation only once it opened it (ACP's session/new answers after
   * start() returned) has it saved at its first event, so a crash in the first turn can still resume.
   */
  private async keepProviderRef(runtime: SessionRuntime): Promise<void> {
    const ref = runtime.agent.providerRef;
    if (!ref || ref === runtime.record.providerRef) return;
    runtime.record.providerRef = ref;
    await this.store.updateSession(runtime.record.id, { providerRef: ref });
  }

  /**
   * Most events need nothing more than logging and get no promise: this runs for every event of every
   * session. Those that do return the promise of that work, and the agent's next event waits for it.
   */
  private onAgentEvent(
    runtime: SessionRuntime,
    draft: SessionEventDraft,
  ): Promise<void> | undefined {
    switch (draft.type) {
      case 'permission_request':
      case 'permission_resolved':
      case 'usage':
      case 'directory_changed':
      case 'result':
        return this.onControlEvent(runtime, draft);
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
    this.log.writeIfOpen(record.id, draft);
  }

  /** Ends a `hold` of the runtime: input queued meanwhile runs now as its next turn. */
  async release(runtime: SessionRuntime): Promise<void> {
    if (await this.sendNext(runtime)) await this.transitions.transition(runtime.record, 'running');
  }

  /**
   * Gives the agent the next queued input, if any; false when there is none. An input whose bytes are
   * gone (deleted meanwhile) is reported as an `error` event and skipped, for the next one.
   */
  private async sendNext(runtime: SessionRuntime): Promise<boolean> {
    for (let next = runtime.turnEnded(); next !== undefined; next = runtime.turnEnded()) {
      let input: AgentInput;
      try {
        input = await this.turns.input(next);
      } catch (err) {
        if (!(err instanceof JelmoreError)) throw err;
        this.log.write(runtime.record.id, { type: 'error', code: err.code, message: err.message });
        continue;
      }
      await this.turns.announce(runtime.record.id, next);
      await runtime.agent.send(input);
      return true;
    }
    return false;
  }

  private async onControlEvent(runtime: SessionRuntime, draft: SessionEventDraft): Promise<void> {
    const { record } = runtime;
    if (draft.type === 'permission_request') {
      // An agent being stopped asks nobody: it could not hear the answer.
      if (!runtime.isLive) return;
      await this.permissions.opened(record, draft, runtime.agent);
    }
    if (draft.type === 'permission_resolved' && !(await this.permissions.withdrawn(record, draft)))
      return;
    this.logAgentEvent(record, draft);
    switch (draft.type) {
      case 'usage':
        await this.budgets.account(runtime, draft);
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
        // Before the next turn may change them: the files as this turn left them.
        await this.checkpoints.turnEnded(record);
        // An agent being ended takes no next turn and does not go idle.
        if (!runtime.can('turnEnded')) break;
        if (!(await this.sendNext(runtime))) await this.transitions.transition(record, 'idle');
        break;
      }
      default:
        break;
    }
  }
}
