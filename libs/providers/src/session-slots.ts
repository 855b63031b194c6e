import { ProviderMetrics, ProviderUnavailableError } from '@jelmore/contracts';

/** A provider's live-session count against its limit, and the figures its metrics() reports. */
export class SessionSlots {
  private active = 0;
  private total = 0;
  private failed = 0;

  constructor(
    private readonly provider: string,
    private readonly max: number,
  ) {}

  /**
   * Takes a slot, or throws ProviderUnavailableError when all are in use. The returned release frees it
   * once, however often it is called (an agent may exit more than once across restarts).
   */
  take(): (failed: boolean) => void {
    if (this.active >= this.max) {
      throw new ProviderUnavailableError(
        this.provider,
        `at capacity (${this.active}/${this.max} sessions)`,
      );
    }
    this.active++;
    this.total++;
    let released = false;
    return (failed) => {
      if (released) return;
      released = true;
      this.active--;
      if (failed) this.failed++;
    };
  }

  metrics(): ProviderMetrics {
    return { activeSessions: this.active, totalSessions: this.total, failedSessions: this.failed };
  }
}
