import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Socket } from 'socket.io';
import { RateLimitedError, WsAck } from '@jelmore/contracts';
import { WindowCounterStorage } from '../auth/window-counter.storage';
import { toErrorBody } from '../common/error-body';

/** The throttler name under which WS events count, apart from the REST routes' counters. */
const WS_THROTTLER = 'ws';

/**
 * Whether one client event (its arguments, the ack last if it asked for one) may run: true or false,
 * at once when the storage answers synchronously, else a promise of it.
 */
export type EventAdmission = (args: unknown[]) => boolean | Promise<boolean>;

/** Set by the gateway at the handshake, read by the dispatcher (ConfiguredIoAdapter). */
const admissions = new WeakMap<Socket, EventAdmission>();

/** The admission check of a socket's events, if a limiter was attached to it. */
export function eventAdmissionOf(socket: Socket): EventAdmission | undefined {
  return admissions.get(socket);
}

/**
 * Limits the client events of a tracker (an API key, or a socket when keys are off) to `limit` per
 * `windowMs`, through the throttler's storage. An event past the limit does not run and is answered
 * with a RATE_LIMITED ack; the socket stays connected. The dispatcher asks before it runs a handler:
 * socket.io calls `onAny` listeners before `socket.use` middleware, so a middleware cannot stop them.
 * Acks a client sends back are not events, so they never count.
 */
export class WsRateLimiter {
  private readonly logger = new Logger(WsRateLimiter.name);
  /** The storage's synchronous answer, when it has one: no promise per event. */
  private readonly hitNow?: WindowCounterStorage['hit'];

  constructor(
    private readonly storage: ThrottlerStorage,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    if (storage instanceof WindowCounterStorage) this.hitNow = storage.hit.bind(storage);
  }

  /** Counts `socket`'s events against `tracker` from now on. */
  attach(socket: Socket, tracker: string): void {
    admissions.set(socket, this.admission(tracker));
  }

  /** The check for one tracker's events (exposed for tests; `attach` is how the app uses it). */
  admission(tracker: string): EventAdmission {
    const key = `${WS_THROTTLER}:${tracker}`;
    // No block duration: a sliding window in which refused events do not count.
    const hitNow = this.hitNow;
    if (hitNow) {
      return (args) => {
        try {
          return this.decide(hitNow(key, this.windowMs, this.limit, 0, WS_THROTTLER), args);
        } catch (err) {
          return this.letThrough(err);
        }
      };
    }
    return (args) =>
      this.storage.increment(key, this.windowMs, this.limit, 0, WS_THROTTLER).then(
        (record) => this.decide(record, args),
        (err: unknown) => this.letThrough(err),
      );
  }

  private decide(
    { isBlocked, timeToBlockExpire }: { isBlocked: boolean; timeToBlockExpire: number },
    args: unknown[],
  ): boolean {
    if (!isBlocked) return true;
    const ack = args[args.length - 1];
    if (typeof ack === 'function') {
      const retryAfter = Math.max(1, timeToBlockExpire);
      const error = new RateLimitedError(
        `Too many Socket.IO events: at most ${this.limit} per ${this.windowMs / 1000} s; retry in ${retryAfter} s`,
        retryAfter,
      );
      (ack as (answer: WsAck) => void)({ ok: false, error: toErrorBody(error).body });
    }
    return false;
  }

  /** A failing store must not take the socket API down with it. */
  private letThrough(err: unknown): true {
    this.logger.error(`rate limit store failed, event let through: ${String(err)}`);
    return true;
  }
}
