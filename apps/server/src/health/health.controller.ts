import { Controller, Get, Optional } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { ProviderRegistry } from '@jelmore/providers';
import { SessionStore } from '@jelmore/sessions';
import { Public } from '../auth/public.decorator';
import { NatsHealthIndicator } from '../nats/nats.health';

const READY_EXAMPLE = {
  status: 'ok',
  info: { store: { status: 'up' }, providers: { status: 'up', claude: 'up' } },
  error: {},
  details: { store: { status: 'up' }, providers: { status: 'up', claude: 'up' } },
};

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
    // Provided only when JELMORE_NATS_URL is set.
    @Optional() private readonly nats?: NatsHealthIndicator,
  ) {}

  /** The process answers: nothing else is checked, so a slow dependency never restarts the pod. */
  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness probe: the process answers (no dependency is checked)' })
  @ApiOkResponse({ example: { status: 'ok', info: {}, error: {}, details: {} } })
  // Terminus documents a 503 for every check; with nothing checked, live never answers it.
  @ApiServiceUnavailableResponse({ example: { status: 'error', info: {}, error: {}, details: {} } })
  live() {
    return this.health.check([]);
  }

  /** Ready when the store answers, at least one provider is healthy, and NATS is up if configured. */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness probe: the store answers and a provider is healthy' })
  @ApiOkResponse({ example: READY_EXAMPLE })
  @ApiServiceUnavailableResponse({
    example: {
      status: 'error',
      info: { store: { status: 'up' } },
      error: { providers: { status: 'down', claude: 'down: binary not found' } },
      details: {
        store: { status: 'up' },
        providers: { status: 'down', claude: 'down: binary not found' },
      },
    },
  })
  ready() {
    const nats = this.nats;
    return this.health.check([
      () => this.checkStore(),
      () => this.checkProviders(),
      ...(nats ? [() => nats.check()] : []),
    ]);
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
