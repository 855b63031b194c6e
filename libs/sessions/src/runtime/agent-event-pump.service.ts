import { Injectable } from '@nestjs/common';
import {
  AgentInput,
  type ErrorEvent,
  JelmoreError,
  type PermissionRequestEvent,
  type SessionEventDraft,
} from '@jelmore/contracts';
import { ProviderSelector } from '@jelmore/providers';
import { SessionBudgets } from '../budgets/session-budgets.service';
import { EventLog } from '../events/event-log.service';
import type { LoggedEvents } from '../middleware/session-middleware.decorator';
import { eventsOf, SessionMiddlewares } from '../middleware/session-middlewares.service';
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
    private readonly middlewares: SessionMiddlewares,
  ) {}

  /**
   * Logs the agent's events until their stream ends. Resolves with the error the agent reported before
   * it was heard from, if any: why its launch failed.
   */
  async drain(runtime: SessionRuntime): Promise<string | undefined> {
    let crash: string | undefined;
    for await (const draft of runtime.agent.events()) {
      // What is logged is what the session middlewares make of the event; the session acts on the event.
      const logged = this.middlewares.event(runtime.record, draft);
      if (runtime.state === 'launching') {
        // Told again in the `failed` or fallback status: as logged (redacted).
        if (draft.type === 'error') crash = errorIn(logged) ?? draft.code;
        else {
          runtime.heard();
          await this.keepProviderRef(runtime);
        }
      }
      const handling = this.onAgentEvent(runtime, draft, logged);
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
    logged: LoggedEvents,
  ): Promise<void> | undefined {
    switch (draft.type) {
      case 'permission_request':
      case 'permission_resolved':
      case 'usage':
      case 'directory_changed':
      case 'result':
        return this.onControlEvent(runtime, draft, logged);
      default:
        this.logAgentEvent(runtime.record, logged);
        return undefined;
    }
  }

  /**
   * Not awaited: seq order is fixed on append, and waiting per event would cap a session at one event per
   * commit interval. A log already closed (the session is ending) drops the event.
   */
  private logAgentEvent(record: SessionRecord, logged: LoggedEvents): void {
    if (logged === null) return;
    if (!Array.isArray(logged)) this.log.writeIfOpen(record.id, logged);
    else for (const draft of logged) this.log.writeIfOpen(record.id, draft);
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
        input = await this.turns.input(next, runtime.record);
      } catch (err) {
        if (!(err instanceof JelmoreError)) throw err;
        this.log.write(runtime.record.id, { type: 'error', code: err.code, message: err.message });
        continue;
      }
      await this.turns.announce(runtime.record.id, this.turns.userEvent(runtime.record, next));
      await runtime.agent.send(input);
      return true;
    }
    return false;
  }

  private async onControlEvent(
    runtime: SessionRuntime,
    draft: SessionEventDraft,
    logged: LoggedEvents,
  ): Promise<void> {
    const { record } = runtime;
    if (draft.type === 'permission_request') {
      // An agent being stopped asks nobody: it could not hear the answer.
      if (!runtime.isLive) return;
      // Stored and relayed as logged (redacted); with no input if a middleware dropped it.
      const shown = eventsOf(logged).find(
        (e): e is PermissionRequestEvent => e.type === 'permission_request',
      );
      await this.permissions.opened(record, shown ?? { ...draft, input: null }, runtime.agent);
    }
    if (draft.type === 'permission_resolved' && !(await this.permissions.withdrawn(record, draft)))
      return;
    this.logAgentEvent(record, logged);
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

/** The message of the `error` event among what the middlewares logged for one. */
function errorIn(logged: LoggedEvents): string | undefined {
  return eventsOf(logged).find((e): e is ErrorEvent => e.type === 'error')?.message;
}
