import { Inject, Injectable, Logger } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import { SessionRuntimes } from './runtime/session-runtimes.service';
import { SESSIONS_MODULE_OPTIONS } from './sessions.module-definition';
import type { SessionsModuleOptions } from './sessions.options';
import { SessionsService } from './sessions.service';
import { SessionStore } from './store/session-store';

@Injectable()
export class SessionCleanupJob {
  private readonly logger = new Logger(SessionCleanupJob.name);
  private running = false;

  constructor(
    private readonly sessions: SessionsService,
    private readonly store: SessionStore,
    private readonly runtimes: SessionRuntimes,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  /** `now`: the clock the TTL and the retention count from (tests move it forward). */
  @Interval('session-cleanup', 60_000)
  async run(now = Date.now()): Promise<void> {
    // An overrunning pass must not overlap the next one.
    if (this.running) return;
    this.running = true;
    try {
      const ended = await this.expireIdle(now);
      if (ended > 0) this.logger.log(`Ended ${ended} expired sessions`);
      const pruned = await this.sessions.pruneEvents(now);
      if (pruned > 0) this.logger.log(`Pruned ${pruned} events of sessions past retention`);
      const attachments = await this.sessions.pruneAttachments(now);
      if (attachments > 0) this.logger.log(`Deleted ${attachments} attachments past retention`);
      const removed = await this.sessions.pruneWorkspaces(now);
      if (removed > 0) this.logger.log(`Removed ${removed} session folders past retention`);
    } catch (err) {
      this.logger.error(`Session cleanup failed: ${String(err)}`);
    } finally {
      this.running = false;
    }
  }

  /** Ends sessions nobody used for the TTL: idle ones here, and suspended or interrupted ones. */
  private async expireIdle(now: number): Promise<number> {
    const cutoff = now - this.options.sessionTtlSeconds * 1000;
    const candidates = await this.store.listSessions({
      states: ['idle', 'suspended', 'interrupted'],
    });
    let ended = 0;
    for (const record of candidates) {
      const runtime = this.runtimes.get(record.id);
      // One being ended already is not ours to end.
      if (runtime && !runtime.isLive) continue;
      const current = runtime?.record ?? record;
      if (current.state === 'running' || Date.parse(current.updatedAt) > cutoff) continue;
      await this.sessions.terminate(record.id, 'expired');
      ended++;
    }
    return ended;
  }
}
