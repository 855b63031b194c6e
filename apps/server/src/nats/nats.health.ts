import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { NatsPublisher } from './nats-publisher.service';

const RTT_TIMEOUT_MS = 1_000;

/** NATS for /health/ready: connected, the stream in place, and the server answering a ping. */
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
    if (!connected) return indicator.down({ ...details, message: 'not connected' });
    if (!streamReady) return indicator.down({ ...details, message: 'stream not ready' });
    try {
      const rttMs = await this.publisher.rtt(RTT_TIMEOUT_MS);
      return indicator.up({ ...details, rttMs: Math.round(rttMs * 100) / 100 });
    } catch (err) {
      return indicator.down({
        ...details,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
