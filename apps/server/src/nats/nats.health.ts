import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { NatsPublisher } from './nats-publisher.service';

const RTT_TIMEOUT_MS = 1_000;

/**
 * NATS in the /health/ready report: connected, the stream in place, and the server answering a ping. The
 * sink is optional and queues while NATS is down, so its outage is reported (`connected: false`) but
 * never fails readiness: it must not take every node out of the load balancer at once.
 */
@Injectable()
export class NatsHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly publisher: NatsPublisher,
  ) {}

  async check(key = 'nats') {
    const indicator = this.indicators.check(key);
    const { connected, streamReady, pending, lastError } = this.publisher.state();
    const details = { pending, ...(lastError ? { lastError } : {}) };
    if (!connected) return indicator.up({ ...details, connected: false, message: 'not connected' });
    if (!streamReady) {
      return indicator.up({ ...details, connected: false, message: 'stream not ready' });
    }
    try {
      const rttMs = await this.publisher.rtt(RTT_TIMEOUT_MS);
      return indicator.up({ ...details, connected: true, rttMs: Math.round(rttMs * 100) / 100 });
    } catch (err) {
      return indicator.up({
        ...details,
        connected: false,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
