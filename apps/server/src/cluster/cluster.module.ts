import { DynamicModule, Global, Module } from '@nestjs/common';
import { SESSIONS_CLUSTER } from '@jelmore/sessions';
import { JelmoreConfig } from '../config/jelmore.config';
import { ClusterService } from './cluster.service';

/**
 * Cluster mode (JELMORE_REDIS_URL). Global, so that SessionsModule finds its optional SESSIONS_CLUSTER
 * here; the gateway and the health check take ClusterService itself.
 */
@Global()
@Module({})
export class ClusterModule {
  static forRoot(config: JelmoreConfig): DynamicModule {
    return {
      module: ClusterModule,
      providers: [
        { provide: JelmoreConfig, useValue: config },
        ClusterService,
        { provide: SESSIONS_CLUSTER, useExisting: ClusterService },
      ],
      exports: [ClusterService, SESSIONS_CLUSTER],
    };
  }
}
