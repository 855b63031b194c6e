import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';

@ApiTags('providers')
@ApiBearerAuth()
@Controller('v1/providers')
export class ProvidersController {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly selector: ProviderSelector,
  ) {}

  /** Every provider with its capabilities, models, health (with its circuit) and load. */
  @Get()
  async list() {
    const health = await this.health();
    return {
      defaultProvider: this.registry.defaultProvider,
      providers: this.registry.list().map((name) => {
        const provider = this.registry.get(name);
        return {
          name,
          capabilities: provider.capabilities,
          models: provider.models(),
          health: health[name],
          load: {
            active: provider.metrics().activeSessions,
            max: provider.capabilities.maxConcurrentSessions,
          },
        };
      }),
    };
  }

  /** Checks every provider now (selection uses these answers too). */
  @Get('health')
  async health() {
    const health = await this.selector.refreshHealth();
    return Object.fromEntries(
      Object.entries(health).map(([name, h]) => [
        name,
        { ...h, circuit: this.selector.circuitState(name) },
      ]),
    );
  }
}
