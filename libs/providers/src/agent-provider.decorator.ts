import { DiscoveryService } from '@nestjs/core';

/** Marks an injectable as an agent provider; the registry finds it through Nest's DiscoveryService. */
export const AgentProvider = DiscoveryService.createDecorator<string>();
