import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { ProviderRegistry } from '@jelmore/providers';
import { JelmoreConfig } from '../jelmore.config';
import { checkTrafficModels } from './traffic.config';

/** Runs checkTrafficModels at boot, once every provider (built-in, ACP, discovered) is registered. */
@Injectable()
export class TrafficModelsCheck implements OnApplicationBootstrap {
  constructor(
    private readonly config: JelmoreConfig,
    private readonly registry: ProviderRegistry,
  ) {}

  onApplicationBootstrap(): void {
    checkTrafficModels(this.config.traffic, this.registry);
  }
}
