import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Event, Socket } from 'socket.io';
import { RateLimitedError, WsAck } from '@jelmore/contracts';
import { toErrorBody } from '../common/error-body';

/** The throttler name under which WS events count, apart from the REST routes' counters. */
const WS_THROTTLER = 'ws';

/**
 * Limits the client events of a tracker (an API key, or a socket when keys are off) to `limit` per
 * `windowMs`, through the throttler's storage (a shared one makes it hold across nodes). An event past
 * the limit is dropped and answered with a RATE_LIMITED ack; the socket stays connected. Acks a client
 * sends back are not events (socket.io never runs them through middleware), so they never count.
 */
export class WsRateLimiter {
  private readonly logger = new Logger(WsRateLimiter.name);

  constructor(
    private readonly storage: ThrottlerStorage,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** A `socket.use` middleware counting against `tracker`. */
  middleware(tracker: string): Parameters<Socket['use']>[0] {
    const key = `${WS_THROTTLER}:${tracker}`;
    return (event: Event, next: (err?: Error) => void) => {
      // No block duration: a sliding window in which refused events do not count.
      this.storage.increment(key, this.windowMs, this.limit, 0, WS_THROTTLER).then(
        ({ isBlocked, timeToBlockExpire }) => {
          if (!isBlocked) {
            next();
            return;
          }
          const ack: unknown = event[event.length - 1];
          if (typeof ack !== 'function') return;
          const retryAfter = Math.max(1, timeToBlockExpire);
          const error = new RateLimitedError(
            `Too many Socket.IO events: at most ${this.limit} per ${this.windowMs / 1000} s; retry in ${retryAfter} s`,
            retryAfter,
          );
          (ack as (answer: WsAck) => void)({ ok: false, error: toErrorBody(error).body });
        },
        (err: unknown) => {
          // A failing store must not take the socket API down with it.
          this.logger.error(`rate limit store failed, event let through: ${String(err)}`);
          next();
        },
      );
    };
  }
}
