import { Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { SessionsService } from './sessions.service';

@Injectable()
export class SessionCleanupJob {
  private readonly logger = new Logger(SessionCleanupJob.name);
  private running = false;

  constructor(private readonly sessions: SessionsService) {}

  /** `now`: the clock the TTL and the retention count from (tests move it forward). */
  @Interval('session-cleanup', 60_000)
  async run(now = Date.now()): Promise<void> {
    // An overrunning pass must not overlap the next one.
    if (this.running) return;
    this.running = true;
    try {
      const ended = await this.sessions.expireIdle(now);
      if (ended > 0) this.logger.log(`Ended ${ended} expired sessions`);
      const pruned = await this.sessions.pruneEvents(now);
      if (pruned > 0) this.logger.log(`Pruned ${pruned} events of sessions past retention`);
      const removed = await this.sessions.pruneWorkspaces(now);
      if (removed > 0) this.logger.log(`Removed ${removed} session folders past retention`);
    } catch (err) {
      this.logger.error(`Session cleanup failed: ${String(err)}`);
    } finally {
      this.running = false;
    }
  }
}
