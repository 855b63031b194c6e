import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import {
  ErrorCode,
  JelmoreError,
  type SessionEventDraft,
  type TurnBlock,
} from '@jelmore/contracts';
import { EventLog } from '../events/event-log.service';
import {
  InputRefused,
  type LoggedEvents,
  type SessionContext,
  SessionMiddleware,
} from './session-middleware.decorator';

interface Stage {
  name: string;
  order: number;
  middleware: SessionMiddleware;
}

/**
 * Every `@SessionMiddleware` of the app, in order: the input of each turn goes through their `onInput`
 * before the agent gets it, and each event through their `onEvent` before it is logged.
 */
@Injectable()
export class SessionMiddlewares implements OnModuleInit {
  private readonly logger = new Logger(SessionMiddlewares.name);
  private inputStages: Stage[] = [];
  private eventStages: Stage[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly log: EventLog,
  ) {}

  onModuleInit(): void {
    const stages: Stage[] = [];
    const names = new Set<string>();
    for (const wrapper of this.discovery.getProviders({ metadataKey: SessionMiddleware.KEY })) {
      // useExisting aliases of the same class carry the metadata too; take the class once.
      if (typeof wrapper.token !== 'function') continue;
      const meta = this.discovery.getMetadataByDecorator(SessionMiddleware, wrapper);
      const middleware = wrapper.instance as SessionMiddleware | undefined;
      const order = meta?.order ?? 0;
      if (!meta?.name || !middleware || !Number.isFinite(order)) {
        throw new Error(
          `Session middleware ${String(wrapper.name)} has no name, no instance or an order that is not a number`,
        );
      }
      if (names.has(meta.name)) throw new Error(`Two session middlewares are named '${meta.name}'`);
      names.add(meta.name);
      if (middleware.enabled !== false) stages.push({ name: meta.name, order, middleware });
    }
    stages.sort((a, b) => a.order - b.order || a.name.localeCompare(b.name));
    this.inputStages = stages.filter((s) => s.middleware.onInput);
    this.eventStages = stages.filter((s) => s.middleware.onEvent);
    this.logger.log({
      msg: 'session middleware',
      input: this.inputStages.map((s) => s.name),
      events: this.eventStages.map((s) => s.name),
    });
  }

  /**
   * The blocks the agent gets for a turn's input. INPUT_REFUSED when a middleware refuses it;
   * MIDDLEWARE_FAILED (also logged as an `error` event, if the session's log is open) when one throws.
   */
  async input(session: SessionContext, blocks: TurnBlock[]): Promise<TurnBlock[]> {
    let out = blocks;
    for (const { name, middleware } of this.inputStages) {
      try {
        out = await middleware.onInput!(session, out);
      } catch (err) {
        if (err instanceof InputRefused) {
          throw new JelmoreError(
            ErrorCode.InputRefused,
            `Input refused by middleware '${name}': ${err.reason}`,
            { middleware: name, reason: err.reason },
          );
        }
        throw this.inputFailed(session, name, err);
      }
      if (!isBlocks(out)) throw this.inputFailed(session, name, 'it returned no content blocks');
    }
    return out;
  }

  /**
   * What the log gets for an event: the event itself when no middleware changes it (the same object,
   * at the cost of one length check when none has an `onEvent`).
   */
  event(session: SessionContext, draft: SessionEventDraft): LoggedEvents {
    return this.eventStages.length === 0 ? draft : this.run(session, draft, 0);
  }

  /** The event through the stages from `from` on; one's array goes on through the rest item by item. */
  private run(session: SessionContext, draft: SessionEventDraft, from: number): LoggedEvents {
    let out = draft;
    for (let i = from; i < this.eventStages.length; i++) {
      const stage = this.eventStages[i];
      let next: LoggedEvents;
      try {
        next = stage.middleware.onEvent!(session, out);
      } catch (err) {
        return this.eventFailed(session, stage.name, out.type, err);
      }
      if (next === null) return null;
      if (Array.isArray(next)) {
        if (!next.every(isDraft)) return this.eventFailed(session, stage.name, out.type, NO_EVENT);
        return next.flatMap((item) => eventsOf(this.run(session, item, i + 1)));
      }
      if (!isDraft(next)) return this.eventFailed(session, stage.name, out.type, NO_EVENT);
      out = next;
    }
    return out;
  }

  private inputFailed(session: SessionContext, name: string, err: unknown): JelmoreError {
    this.logger.error({
      msg: 'session middleware failed',
      sessionId: session.id,
      middleware: name,
      on: 'input',
      error: describe(err),
    });
    const failure = new JelmoreError(
      ErrorCode.MiddlewareFailed,
      `Middleware '${name}' failed on the input: the turn was not run`,
      { middleware: name },
    );
    // A session's later turn: its watchers see why it got no answer. A new session has no log yet.
    this.log.writeIfOpen(session.id, {
      type: 'error',
      code: failure.code,
      message: failure.message,
    });
    return failure;
  }

  /** A failed middleware must not leak what it was given: the event is dropped for an `error`. */
  private eventFailed(
    session: SessionContext,
    name: string,
    type: SessionEventDraft['type'],
    err: unknown,
  ): SessionEventDraft {
    this.logger.error({
      msg: 'session middleware failed',
      sessionId: session.id,
      middleware: name,
      on: type,
      error: describe(err),
    });
    return {
      type: 'error',
      code: ErrorCode.MiddlewareFailed,
      message: `Middleware '${name}' failed on an event (${type}): the event was dropped`,
    };
  }
}

const NO_EVENT = 'it returned no event';

/** The events of a middleware's answer, as a list. */
export function eventsOf(logged: LoggedEvents): SessionEventDraft[] {
  if (logged === null) return [];
  return Array.isArray(logged) ? logged : [logged];
}

function isDraft(value: unknown): value is SessionEventDraft {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string'
  );
}

function isBlocks(value: unknown): value is TurnBlock[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every(
      (block: Partial<TurnBlock> | null) =>
        (block?.type === 'text' && typeof block.text === 'string') ||
        ((block?.type === 'image' || block?.type === 'document') &&
          typeof block.attachmentId === 'string'),
    )
  );
}

/** The error's class and message, for the server's log (an operator's middleware chooses its messages). */
function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
