import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ScheduleModule } from '@nestjs/schedule';
import { TerminusModule } from '@nestjs/terminus';
import { ProvidersModule } from '@jelmore/providers';
import { DEFAULT_SESSIONS_OPTIONS, SessionsModule } from '@jelmore/sessions';
import { MetricsController } from './api/metrics.controller';
import { ProvidersController } from './api/providers.controller';
import { SessionsController } from './api/sessions.controller';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { JelmoreConfig } from './config/jelmore.config';
import { SessionsGateway } from './gateway/sessions.gateway';
import { HealthController } from './health/health.controller';
import { PrometheusController } from './metrics/metrics.controller';
import { PrometheusService } from './metrics/prometheus.service';

@Module({})
export class AppModule {
  /** The app for a validated configuration (see loadConfig). */
  static forRoot(config: JelmoreConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
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
          claude: config.claude,
          opencode: config.opencode,
          scripted: config.scripted,
        }),
        SessionsModule.forRoot({
          ...DEFAULT_SESSIONS_OPTIONS,
          databaseUrl: config.databaseUrl,
          workspaceRoot: config.workspaceRoot,
          sessionTtlSeconds: config.sessionTtlSeconds,
          eventRetentionSeconds: config.eventRetentionSeconds,
        }),
      ],
      controllers: [
        SessionsController,
        ProvidersController,
        MetricsController,
        PrometheusController,
        HealthController,
      ],
      providers: [
        { provide: JelmoreConfig, useValue: config },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        SessionsGateway,
        PrometheusService,
      ],
    };
  }
}
