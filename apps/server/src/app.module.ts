import { join } from 'node:path';
import { DynamicModule, Module, Provider } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ThrottlerModule, type ThrottlerOptions } from '@nestjs/throttler';
import { ScheduleModule } from '@nestjs/schedule';
import { LoggerModule } from 'nestjs-pino';
import { TerminusModule } from '@nestjs/terminus';
import { ProvidersModule } from '@jelmore/providers';
import { checkpointsDir, DEFAULT_SESSIONS_OPTIONS, SessionsModule } from '@jelmore/sessions';
import { MetricsController } from './api/metrics.controller';
import { ProvidersController } from './api/providers.controller';
import { AttachmentsController } from './api/attachments.controller';
import { ExperimentsController } from './api/experiments.controller';
import { SessionHistoryController } from './api/session-history.controller';
import { SessionsController } from './api/sessions.controller';
import { ApiKeyGuard } from './auth/api-key.guard';
import { BURST_THROTTLER, burstBucket, WindowCounterStorage } from './auth/window-counter.storage';
import { adminOwners, ApiKeysService } from './auth/api-keys.service';
import { KeyThrottlerGuard } from './auth/key-throttler.guard';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { CommittedSessions } from './common/committed-sessions';
import { createRootLogger, REQUEST_LOGGER, requestLogger } from './common/request-logging';
import { JelmoreConfig } from './config/jelmore.config';
import { TrafficModelsCheck } from './config/policies/traffic-models.check';
import { ClusterModule } from './cluster/cluster.module';
import { SessionsGateway } from './gateway/sessions.gateway';
import { HealthController } from './health/health.controller';
import { PrometheusController } from './metrics/metrics.controller';
import { PrometheusService } from './metrics/prometheus.service';
import { DashboardModule } from './dashboard/dashboard.module';
import { DelegationEndpoint } from './mcp/delegation-endpoint';
import { McpController } from './mcp/mcp.controller';
import { McpServers } from './mcp/mcp-servers';
import {
  DEFAULT_NATS_FLUSH_TIMEOUT_MS,
  NATS_PUBLISHER_OPTIONS,
  type NatsPublisherOptions,
} from './nats/nats.constants';
import { NatsHealthIndicator } from './nats/nats.health';
import { NatsPublisher } from './nats/nats-publisher.service';
import { WebhooksController, webhookProviders } from './webhooks/webhooks.providers';
import { PushController, pushProviders } from './push/push.providers';
import { SharedController, SharesController, shareProviders } from './shares/shares.providers';

@Module({})
export class AppModule {
  /** The app for a validated configuration (see loadConfig). */
  static forRoot(config: JelmoreConfig): DynamicModule {
    const rootLogger = createRootLogger(config.logLevel);
    // Sessions (below) make agent configs with it; configureApp gives it the listening server.
    const delegation = new DelegationEndpoint();
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: { logger: rootLogger },
          // The request log is mounted by configureApp (see requestLogger): no route runs this one.
          forRoutes: [],
        }),
        ThrottlerModule.forRoot({
          throttlers: [
            {
              name: 'default',
              ttl: config.rateLimitWindowSeconds * 1000,
              limit: config.rateLimitPerMinute,
            },
            ...burstThrottlers(config),
          ],
          storage: new WindowCounterStorage(),
        }),
        ScheduleModule.forRoot(),
        TerminusModule.forRoot({ logger: false }),
        ProvidersModule.forRoot({
          isGlobal: true,
          defaultProvider: config.defaultProvider,
          loadBalancing: config.loadBalancing,
          costOptimization: config.costOptimization,
          circuit: {
            failureThreshold: config.circuitFailureThreshold,
            cooldownMs: config.circuitCooldownSeconds * 1000,
          },
          dataDir: config.dataDir,
          sandbox: {
            mode: config.agentSandbox,
            network: config.agentNetwork,
            // Where a folder shown to agents holds them (e.g. the data dir under the workspace).
            hidden: [config.dataDir, checkpointsDir(config.workspaceRoot), ...config.secretFiles],
          },
          workspaceRoot: config.workspaceRoot,
          claude: config.claude,
          opencode: config.opencode,
          acpAgents: config.acpAgents,
          scripted: config.scripted,
          rateLimits: {
            sessionsPerWindow: config.providerRateLimits,
            windowMs: config.rateLimitWindowSeconds * 1000,
          },
        }),
        SessionsModule.forRoot({
          ...DEFAULT_SESSIONS_OPTIONS,
          databaseUrl: config.databaseUrl,
          workspaceRoot: config.workspaceRoot,
          sharedWorkspace: config.sharedWorkspace,
          defaultIsolation: config.defaultIsolation,
          delegationDefault: config.delegationDefault,
          delegationMaxDepth: config.delegationMaxDepth,
          delegationMaxChildren: config.delegationMaxChildren,
          delegationServer: (session) => delegation.serverFor(session),
          adminOwners: adminOwners(config),
          sessionTtlSeconds: config.sessionTtlSeconds,
          eventRetentionSeconds: config.eventRetentionSeconds,
          permissionTimeoutSeconds: config.permissionTimeoutSeconds,
          maxAttachmentBytes: config.maxAttachmentBytes,
          maxTurnAttachmentBytes: config.maxTurnAttachmentBytes,
          maxContentBlocks: config.maxContentBlocks,
          // One node's own: PostgreSQL is what nodes share, so there the bytes go to the database.
          ...(config.databaseUrl.startsWith('sqlite:')
            ? { attachmentsDir: join(config.dataDir, 'attachments') }
            : {}),
          ownerBudgetsUsd: config.keyBudgetsUsd,
          nodeId: config.nodeId,
          traffic: config.traffic,
          middleware: config.middleware,
          cache: {
            ttlSeconds: config.cacheTtlSeconds,
            maxEntries: config.cacheMaxEntries,
            maxBytes: config.cacheMaxBytes,
          },
        }),
        DashboardModule,
        ...(config.redisUrl ? [ClusterModule.forRoot(config)] : []),
      ],
      controllers: [
        SessionsController,
        SessionHistoryController,
        AttachmentsController,
        ProvidersController,
        MetricsController,
        ExperimentsController,
        PrometheusController,
        HealthController,
        McpController,
        WebhooksController,
        PushController,
        SharesController,
        SharedController,
      ],
      providers: [
        { provide: JelmoreConfig, useValue: config },
        { provide: REQUEST_LOGGER, useValue: requestLogger(rootLogger) },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        ApiKeysService,
        // Authentication first, so the rate limit counts per key.
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: KeyThrottlerGuard },
        SessionsGateway,
        McpServers,
        { provide: DelegationEndpoint, useValue: delegation },
        PrometheusService,
        TrafficModelsCheck,
        // The committed events webhooks and push are fed from.
        CommittedSessions,
        ...webhookProviders(config),
        ...pushProviders(config),
        ...shareProviders(config),
        ...(config.natsUrl ? natsProviders(config, config.natsUrl) : []),
      ],
    };
  }
}

/** The NATS event sink and its readiness check, only when JELMORE_NATS_URL is set. */
function natsProviders(config: JelmoreConfig, url: string): Provider[] {
  return [
    {
      provide: NATS_PUBLISHER_OPTIONS,
      useValue: {
        url,
        stream: config.natsStream,
        maxAgeSeconds: config.eventRetentionSeconds,
        maxPending: config.natsMaxPending,
        flushTimeoutMs: DEFAULT_NATS_FLUSH_TIMEOUT_MS,
        connectionName: `jelmore-${config.nodeId}`,
      } satisfies NatsPublisherOptions,
    },
    NatsPublisher,
    NatsHealthIndicator,
  ];
}

/** The per-key burst limit, beside the per-window one (see burstBucket). */
function burstThrottlers(config: JelmoreConfig): ThrottlerOptions[] {
  const bucket = burstBucket(
    config.rateLimitBurst,
    config.rateLimitPerMinute,
    config.rateLimitWindowSeconds * 1000,
  );
  return bucket ? [{ name: BURST_THROTTLER, ...bucket }] : [];
}
