import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ProviderRegistry } from '@jelmore/providers';
import { SessionStore } from '@jelmore/sessions';
import { Public } from '../auth/public.decorator';

@ApiTags('health')
@Public()
// Kubernetes probes every few seconds from one address: never rate limited.
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly store: SessionStore,
    private readonly registry: ProviderRegistry,
  ) {}

  /** The process answers: nothing else is checked, so a slow dependency never restarts the pod. */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Ready when the store answers and at least one provider is healthy. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([() => this.checkStore(), () => this.checkProviders()]);
  }

  private async checkStore() {
    const indicator = this.indicators.check('store');
    try {
      await this.store.ping();
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: err instanceof Error ? err.message : String(err) });
    }
  }

  private async checkProviders() {
    const indicator = this.indicators.check('providers');
    const health = await this.registry.healthCheckAll();
    const summary = Object.fromEntries(
      Object.entries(health).map(([name, h]) => [name, h.healthy ? 'up' : `down: ${h.reason}`]),
    );
    return Object.values(health).some((h) => h.healthy)
      ? indicator.up(summary)
      : indicator.down(summary);
  }
}
