import { normalizeIp, type ThrottlerStorage } from '@nestjs/throttler';
import { RateLimitedError } from '@jelmore/contracts';
import { WindowCounterStorage } from './window-counter.storage';

/** The throttler name under which failed authentications count, apart from the request counters. */
const AUTH_THROTTLER = 'auth-failures';

/**
 * Failed authentications per client address (an IPv6 /64 counts as one, as the throttler's trackers
 * do): past `limit` in a window (from the address's first failure), every attempt from the address is
 * refused with RATE_LIMITED until the window ends, a valid key included (else guessing would go on, and
 * the first success would tell the guesser). A success does not reset the count, so one key's holder
 * cannot mix in good attempts to guess another key. REST and the Socket.IO handshake share the counts
 * through the app's one throttler storage.
 */
export class AuthFailureLimiter {
  private readonly storage: WindowCounterStorage;

  constructor(
    storage: ThrottlerStorage,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {
    // The check before authentication must not count, which only this storage can answer.
    if (!(storage instanceof WindowCounterStorage)) {
      throw new Error('AuthFailureLimiter needs the WindowCounterStorage as the throttler storage');
    }
    this.storage = storage;
  }

  /** Asked before authenticating: the error to answer with while `address` is over its limit. */
  refusal(address: string | undefined): RateLimitedError | undefined {
    const retryAfter = this.storage.peek(trackerOf(address), this.limit, AUTH_THROTTLER);
    if (retryAfter === 0) return undefined;
    return new RateLimitedError(
      `Too many failed authentications from this address: at most ${this.limit} per ${this.windowMs / 1000} s; retry in ${retryAfter} s`,
      retryAfter,
    );
  }

  recordFailure(address: string | undefined): void {
    this.storage.hit(trackerOf(address), this.windowMs, this.limit, 0, AUTH_THROTTLER);
  }
}

/** IPv4-mapped addresses as IPv4, so one client is one tracker whichever way it connected. */
function trackerOf(address: string | undefined): string {
  return `ip:${address ? normalizeIp(address) : 'unknown'}`;
}
