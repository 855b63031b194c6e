import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { AgentProviderPort } from '@jelmore/contracts';
import { AcpAgentsRegistrar } from './acp/acp-agents.registrar';
import { AgentProvider } from './agent-provider.decorator';
import { ProviderRegistry } from './provider-registry.service';

/** Registers every `@AgentProvider('name')` instance in the application, whatever module declares it. */
@Injectable()
export class ProvidersExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly registry: ProviderRegistry,
    private readonly acpAgents: AcpAgentsRegistrar,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: AgentProvider.KEY })) {
      // useExisting aliases of the same class carry the metadata too; register the class once.
      if (typeof wrapper.token !== 'function') continue;
      const name = this.discovery.getMetadataByDecorator(AgentProvider, wrapper);
      const instance = wrapper.instance as AgentProviderPort | undefined;
      if (!name || !instance) {
        throw new Error(`Agent provider ${String(wrapper.name)} has no name or no instance`);
      }
      this.registry.register(name, () => instance);
    }
    // Then the ACP agents: for a model both serve, the bespoke provider comes first (order breaks ties).
    this.acpAgents.registerAll();
  }
}
