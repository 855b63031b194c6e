export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit refuses before it lets one trial through. */
  cooldownMs: number;
}

export const DEFAULT_CIRCUIT_OPTIONS: CircuitBreakerOptions = {
  failureThreshold: 3,
  cooldownMs: 30_000,
};

/**
 * Per-provider circuit: closed while sessions start and run; open after `failureThreshold` consecutive
 * failures, refusing the provider; half-open once `cooldownMs` has passed, letting one trial through,
 * which closes it on success or opens it again on failure.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt?: number;
  private trialInFlight = false;

  constructor(
    private readonly options: CircuitBreakerOptions = DEFAULT_CIRCUIT_OPTIONS,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return this.now() - this.openedAt >= this.options.cooldownMs ? 'half-open' : 'open';
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Whether a new session may go to this provider now; a half-open circuit lets one through. */
  allows(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    return true;
  }

  /** Claims the half-open trial (call when a session is sent to the provider). */
  begin(): void {
    if (this.state === 'half-open') this.trialInFlight = true;
  }

  recordSuccess(): void {
    this.failures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  recordFailure(): void {
    this.failures++;
    this.trialInFlight = false;
    if (this.openedAt !== undefined || this.failures >= this.options.failureThreshold) {
      this.openedAt = this.now();
    }
  }
}
