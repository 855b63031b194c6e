import { Controller, Get, Optional } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { BURST_THROTTLER } from '../auth/window-counter.storage';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { AgentSandbox, ProviderRegistry } from '@jelmore/providers';
import { SessionsService, StoreConnection } from '@jelmore/sessions';
import { ClusterService } from '../cluster/cluster.service';
import { Public } from '../auth/public.decorator';
import { NatsHealthIndicator } from '../nats/nats.health';

const READY_EXAMPLE = {
  status: 'ok',
  info: {
    store: { status: 'up' },
    providers: { status: 'up', claude: 'up' },
    sandbox: { status: 'up', mode: 'bwrap', network: 'host' },
  },
  error: {},
  details: {
    store: { status: 'up' },
    providers: { status: 'up', claude: 'up' },
    sandbox: { status: 'up', mode: 'bwrap', network: 'host' },
  },
};

@ApiTags('health')
@Public()
// Kubernetes probes every few seconds from one address: never rate limited.
// Every named throttler: a bare @SkipThrottle() skips only `default`.
@SkipThrottle({ default: true, [BURST_THROTTLER]: true })
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly store: StoreConnection,
    private readonly registry: ProviderRegistry,
    private readonly sessions: SessionsService,
    private readonly sandbox: AgentSandbox,
    // Provided only when JELMORE_NATS_URL is set.
    @Optional() private readonly nats?: NatsHealthIndicator,
    // Provided only in cluster mode (JELMORE_REDIS_URL).
    @Optional() private readonly cluster?: ClusterService,
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

  /**
   * Ready when the store answers, at least one provider is healthy, agents can be sandboxed (or the
   * sandbox is off), and NATS is up if configured.
   */
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
    const cluster = this.cluster;
    return this.health.check([
      () => this.checkAccepting(),
      () => this.checkStore(),
      () => this.checkProviders(),
      () => this.checkSandbox(),
      ...(nats ? [() => nats.check()] : []),
      ...(cluster ? [() => this.checkRedis(cluster)] : []),
    ]);
  }

  /** From the first moment of a shutdown the node takes no new sessions: out of the load balancer. */
  private checkAccepting() {
    const indicator = this.indicators.check('node');
    return this.sessions.isShuttingDown
      ? indicator.down({ message: 'shutting down' })
      : indicator.up();
  }

  private async checkRedis(cluster: ClusterService) {
    const indicator = this.indicators.check('redis');
    try {
      await Promise.race([
        cluster.ping(),
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error('no answer in 1000 ms')), 1000).unref(),
        ),
      ]);
      return indicator.up();
    } catch (err) {
      return indicator.down({ message: err instanceof Error ? err.message : String(err) });
    }
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

  /** Up when agents run sandboxed, or unconfined because JELMORE_AGENT_SANDBOX=off says so (shown). */
  private checkSandbox() {
    const indicator = this.indicators.check('sandbox');
    const { mode, usable, reason, network } = this.sandbox.status;
    if (mode === 'off') return indicator.up({ mode, message: 'agents run unconfined' });
    return usable ? indicator.up({ mode, network }) : indicator.down({ mode, message: reason });
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
