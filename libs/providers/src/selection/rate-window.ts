/** Per-provider limits on how many sessions may start in a window. */
export interface ProviderRateLimitOptions {
  /** Provider name → sessions it may start per window; a provider not listed has no limit. */
  sessionsPerWindow: Record<string, number>;
  windowMs: number;
}

/**
 * The clock of the providers' rate windows: monotonic milliseconds, `performance.now()` unless a
 * provider of this token is visible to ProvidersModule (e.g. from a global module): tests move time on
 * through it instead of sleeping out a window.
 */
export const RATE_LIMIT_CLOCK = Symbol('RATE_LIMIT_CLOCK');

/**
 * At most `limit` admissions in any `windowMs` (a sliding window): each admission is remembered until it
 * is `windowMs` old. Synchronous, so a check and the admission that follows it cannot interleave with
 * another request's; and only what is recorded counts, so a refused attempt costs nothing.
 */
export class RateWindow {
  private readonly admitted: number[] = [];

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    // Monotonic: a wall-clock step back would otherwise hold slots for longer than the window.
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Milliseconds until one more admission fits; 0 when it fits now. */
  waitMs(): number {
    const now = this.now();
    while (this.admitted.length > 0 && this.admitted[0] + this.windowMs <= now) {
      this.admitted.shift();
    }
    return this.admitted.length < this.limit ? 0 : this.admitted[0] + this.windowMs - now;
  }

  record(): void {
    this.admitted.push(this.now());
  }

  /** Admissions still inside the window. */
  get used(): number {
    this.waitMs();
    return this.admitted.length;
  }
}
