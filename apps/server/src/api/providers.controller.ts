import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { ProviderRegistry } from '@jelmore/providers';

@ApiTags('providers')
@Controller('v1/providers')
export class ProvidersController {
  constructor(private readonly registry: ProviderRegistry) {}

  /** Every provider with its capabilities, models, health and load. */
  @Get()
  async list() {
    const health = await this.registry.healthCheckAll();
    return {
      defaultProvider: this.registry.defaultProvider,
      providers: this.registry.list().map((name) => {
        const provider = this.registry.get(name);
        const metrics = provider.metrics();
        return {
          name,
          capabilities: provider.capabilities,
          models: provider.models(),
          health: health[name],
          load: {
            active: metrics.activeSessions,
            max: provider.capabilities.maxConcurrentSessions,
          },
        };
      }),
    };
  }

  @Get('health')
  health() {
    return this.registry.healthCheckAll();
  }
}
