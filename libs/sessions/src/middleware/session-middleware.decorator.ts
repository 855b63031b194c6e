import { DiscoveryService } from '@nestjs/core';
import type { SessionEventDraft, TurnBlock } from '@jelmore/contracts';

/** The session a middleware sees an input or an event of. */
export interface SessionContext {
  readonly id: string;
  /** The API key id that owns it; null on a server without keys. */
  readonly owner: string | null;
  readonly provider: string;
  readonly model: string;
}

/** What stands in an event's place in the log: the event (changed or not), several events, or none. */
export type LoggedEvents = SessionEventDraft | SessionEventDraft[] | null;

/**
 * A session middleware: an `@Injectable()` marked `@SessionMiddleware({ name, order })` in any module of
 * the app. Middlewares run in ascending `order` (then by name), each on what the one before returned.
 */
export interface SessionMiddleware {
  /** Read once at boot; false: never run (a built-in turned off in the config). */
  readonly enabled?: boolean;
  /**
   * A turn's input on its way to the agent: the blocks to give it instead (the `user` event still shows
   * what the client sent). Runs once per input, when the server takes it: throw InputRefused to refuse it
   * (the request gets INPUT_REFUSED and nothing starts or is queued); any other throw fails the turn
   * (MIDDLEWARE_FAILED).
   */
  onInput?(session: SessionContext, blocks: TurnBlock[]): TurnBlock[] | Promise<TurnBlock[]>;
  /**
   * An event before it is logged (the agent's events and the `user` events): what to log instead, or
   * null for nothing. It runs on every event of every session, synchronously: keep it cheap. A throw
   * drops the event and logs an `error` event (MIDDLEWARE_FAILED) in its place.
   */
  onEvent?(session: SessionContext, draft: SessionEventDraft): LoggedEvents;
}

export interface SessionMiddlewareMetadata {
  /** Unique among the app's middlewares; it names the middleware in errors and logs. */
  name: string;
  /** Lower runs first; default 0. The built-ins run at BUILT_IN_ORDER. */
  order?: number;
}

/** Marks an injectable as a session middleware; SessionMiddlewares finds it through DiscoveryService. */
export const SessionMiddleware = DiscoveryService.createDecorator<SessionMiddlewareMetadata>();

/**
 * After the operator's middlewares (order 0 unless they say): the prompt prefix and suffix wrap the input
 * as those left it, and the redactor sees each event as it will be logged.
 */
export const BUILT_IN_ORDER = 1000;

/** Thrown by an `onInput` to refuse the input: the client gets INPUT_REFUSED with this reason. */
export class InputRefused extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'InputRefused';
  }
}
