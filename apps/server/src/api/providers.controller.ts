import { Controller, Get } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import { ApiKeyProtected } from './api-docs.decorator';
import {
  PROVIDER_HEALTH_EXAMPLE,
  ProviderHealthDto,
  PROVIDERS_EXAMPLE,
  ProvidersDto,
} from './responses.dto';

@ApiTags('providers')
@ApiKeyProtected()
@ApiExtraModels(ProviderHealthDto)
@Controller('v1/providers')
export class ProvidersController {
  constructor(
    private readonly registry: ProviderRegistry,
    private readonly selector: ProviderSelector,
  ) {}

  /** Every provider with its capabilities, models, health (with its circuit) and load. */
  @Get()
  @ApiOperation({ summary: 'Every provider: capabilities, models and prices, health, load' })
  @ApiOkResponse({ type: ProvidersDto, example: PROVIDERS_EXAMPLE })
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
  @ApiOperation({ summary: 'Check every provider now, with its circuit breaker state' })
  @ApiOkResponse({
    description: 'By provider name',
    schema: { type: 'object', additionalProperties: { $ref: getSchemaPath(ProviderHealthDto) } },
    example: PROVIDER_HEALTH_EXAMPLE,
  })
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
