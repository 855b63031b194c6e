import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Socket } from 'socket.io';
import { RateLimitedError, WsAck } from '@jelmore/contracts';
import { BURST_THROTTLER, burstBucket, WindowCounterStorage } from '../auth/window-counter.storage';
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
 * `windowMs` and `burst` at once, through the throttler's storage. An event past either does not run and is answered
 * with a RATE_LIMITED ack; the socket stays connected. The dispatcher asks before it runs a handler:
 * socket.io calls `onAny` listeners before `socket.use` middleware, so a middleware cannot stop them.
 * Acks a client sends back are not events, so they never count.
 */
export class WsRateLimiter {
  private readonly logger = new Logger(WsRateLimiter.name);
  /** The storage's synchronous answer, when it has one: no promise per event. */
  private readonly hitNow?: WindowCounterStorage['hit'];
  /** Checked in this order; an event refused by one is not counted by the next. */
  private readonly limits: readonly Limit[];

  /** `burst`: how many events at once (a token bucket refilled at `limit` per `windowMs`). */
  constructor(
    private readonly storage: ThrottlerStorage,
    limit: number,
    windowMs: number,
    burst = limit,
  ) {
    if (storage instanceof WindowCounterStorage) this.hitNow = storage.hit.bind(storage);
    const bucket = burstBucket(burst, limit, windowMs);
    this.limits = [
      ...(bucket ? [{ prefix: `${WS_THROTTLER}-burst`, name: BURST_THROTTLER, ...bucket }] : []),
      { prefix: WS_THROTTLER, name: WS_THROTTLER, limit, ttl: windowMs },
    ];
  }

  /** Counts `socket`'s events against `tracker` from now on. */
  attach(socket: Socket, tracker: string): void {
    admissions.set(socket, this.admission(tracker));
  }

  /** The check for one tracker's events (exposed for tests; `attach` is how the app uses it). */
  admission(tracker: string): EventAdmission {
    const limits = this.limits.map((l) => ({ ...l, key: `${l.prefix}:${tracker}` }));
    // No block duration: refused events do not count.
    const hitNow = this.hitNow;
    if (hitNow) {
      return (args) => {
        try {
          return limits.every((l) =>
            this.decide(l, hitNow(l.key, l.ttl, l.limit, 0, l.name), args),
          );
        } catch (err) {
          return this.letThrough(err);
        }
      };
    }
    return async (args) => {
      try {
        for (const l of limits) {
          const record = await this.storage.increment(l.key, l.ttl, l.limit, 0, l.name);
          if (!this.decide(l, record, args)) return false;
        }
        return true;
      } catch (err) {
        return this.letThrough(err);
      }
    };
  }

  private decide(
    { limit, ttl }: Limit,
    { isBlocked, timeToBlockExpire }: { isBlocked: boolean; timeToBlockExpire: number },
    args: unknown[],
  ): boolean {
    if (!isBlocked) return true;
    const ack = args[args.length - 1];
    if (typeof ack === 'function') {
      const retryAfter = Math.max(1, timeToBlockExpire);
      const error = new RateLimitedError(
        `Too many Socket.IO events: at most ${limit} per ${Math.round(ttl / 100) / 10} s; retry in ${retryAfter} s`,
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

interface Limit {
  prefix: string;
  name: string;
  limit: number;
  ttl: number;
}
