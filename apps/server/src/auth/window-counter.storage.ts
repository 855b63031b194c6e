import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

interface ThrottlerStorageRecord {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

interface Counter {
  windowStart: number;
  hits: number;
  blockedUntil: number;
}

/** A token bucket: `tokens` as they were at `at`. */
interface Bucket {
  tokens: number;
  at: number;
  ttl: number;
}

/**
 * The throttler whose limit is a token bucket rather than a window: `limit` requests at once, refilled
 * at `limit` per `ttl`, so a burst is cut to its size and then let through at the steady rate.
 */
export const BURST_THROTTLER = 'burst';

/**
 * The bucket of a burst limit: `burst` at once, refilled at the window's rate. None when `burst` is not
 * below the window's limit: that limit alone cuts such bursts, and tells the right time to retry.
 */
export function burstBucket(
  burst: number,
  perWindow: number,
  windowMs: number,
): { limit: number; ttl: number } | undefined {
  return burst < perWindow ? { limit: burst, ttl: (burst * windowMs) / perWindow } : undefined;
}

/**
 * In-memory throttler storage that counts hits per fixed window (from a key's first hit, `ttl` long):
 * O(1) a request. The throttler's default storage keeps one expiry per hit and filters that list on every
 * request, O(hits in the window): at 2,000 requests a second on one key it holds 120,000 entries and the
 * filter takes a third of the server's CPU. A fixed window lets a client through at most twice the limit
 * across a window's edge, which a rate limit against abuse can live with.
 */
export class WindowCounterStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly counters = new Map<string, Counter & { ttl: number }>();
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweep = setInterval(() => this.evict(this.now()), 60_000);

  /** `now`: the wall clock in milliseconds; a test passes one it moves on instead of sleeping. */
  constructor(private readonly now: () => number = Date.now) {
    this.sweep.unref();
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    return this.hit(key, ttl, limit, blockDuration, throttlerName);
  }

  /** `increment`, answered at once: the Socket.IO dispatcher counts every event without a promise. */
  hit(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): ThrottlerStorageRecord {
    const now = this.now();
    const id = `${throttlerName}:${key}`;
    if (throttlerName === BURST_THROTTLER) return this.take(id, ttl, limit, now);
    let c = this.counters.get(id);
    if (!c || (c.blockedUntil > 0 && c.blockedUntil <= now) || now - c.windowStart >= ttl) {
      // New, past its window, or a block just ended: count afresh, as the default storage does.
      c = { windowStart: now, hits: 0, blockedUntil: 0, ttl };
      this.counters.set(id, c);
    }
    const timeToExpire = Math.ceil((c.windowStart + ttl - now) / 1000);
    if (c.blockedUntil > now) {
      const timeToBlockExpire = Math.ceil((c.blockedUntil - now) / 1000);
      return { totalHits: c.hits, timeToExpire, isBlocked: true, timeToBlockExpire };
    }
    if (blockDuration <= 0) {
      // No block: a refused hit does not count; the window's end lets the caller in again.
      if (c.hits >= limit) {
        return {
          totalHits: c.hits + 1,
          timeToExpire,
          isBlocked: true,
          timeToBlockExpire: timeToExpire,
        };
      }
      c.hits++;
      return { totalHits: c.hits, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
    }
    c.hits++;
    if (c.hits > limit) {
      c.blockedUntil = now + blockDuration;
      const timeToBlockExpire = Math.ceil(blockDuration / 1000);
      return { totalHits: c.hits, timeToExpire, isBlocked: true, timeToBlockExpire };
    }
    return { totalHits: c.hits, timeToExpire, isBlocked: false, timeToBlockExpire: 0 };
  }

  /**
   * Seconds until `key` may pass again, counting nothing: 0 while it is under `limit` in its window.
   * Failed logins need it: whether an address may try again is asked before its attempt is known to fail.
   */
  peek(key: string, limit: number, throttlerName: string): number {
    const now = this.now();
    const c = this.counters.get(`${throttlerName}:${key}`);
    if (!c) return 0;
    // A block that has ended lets the key in: its next hit counts afresh.
    if (c.blockedUntil > 0)
      return c.blockedUntil > now ? Math.ceil((c.blockedUntil - now) / 1000) : 0;
    const windowEnd = c.windowStart + c.ttl;
    return c.hits >= limit && windowEnd > now ? Math.ceil((windowEnd - now) / 1000) : 0;
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
  }

  /** One token from the key's bucket; refused ones take none, and wait until one is back. */
  private take(id: string, ttl: number, limit: number, now: number): ThrottlerStorageRecord {
    const perMs = limit / ttl;
    const bucket = this.buckets.get(id) ?? { tokens: limit, at: now, ttl };
    bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    this.buckets.set(id, bucket);
    if (bucket.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
      return { totalHits: limit + 1, timeToExpire: wait, isBlocked: true, timeToBlockExpire: wait };
    }
    bucket.tokens -= 1;
    const used = limit - bucket.tokens;
    return {
      totalHits: Math.ceil(used),
      timeToExpire: Math.ceil(used / perMs / 1000),
      isBlocked: false,
      timeToBlockExpire: 0,
    };
  }

  /** Forgets counters with nothing left in their window and no block, and buckets full again. */
  private evict(now: number): void {
    for (const [id, c] of this.counters) {
      if (c.blockedUntil <= now && now - c.windowStart >= c.ttl) this.counters.delete(id);
    }
    for (const [id, b] of this.buckets) if (now - b.at >= b.ttl) this.buckets.delete(id);
  }
}
