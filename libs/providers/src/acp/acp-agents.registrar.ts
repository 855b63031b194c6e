import { Inject, Injectable } from '@nestjs/common';
import { join } from 'node:path';
import { AgentSandbox } from '../process/agent-sandbox';
import { acpPresets } from '../provider-folders';
import { ProviderRegistry } from '../provider-registry.service';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { AcpAgentProvider } from './acp-agent-provider';

/**
 * Registers the built-in ACP agents (presets) and those of the configuration at boot, through the registry as any provider added at
 * run time: a config entry is all a new ACP agent needs.
 */
@Injectable()
export class AcpAgentsRegistrar {
  constructor(
    @Inject(PROVIDERS_MODULE_OPTIONS) private readonly options: ProvidersModuleOptions,
    private readonly registry: ProviderRegistry,
    private readonly sandbox: AgentSandbox,
  ) {}

  /** Called by ProvidersExplorer after the folders' providers, so those come first in the registry. */
  registerAll(): void {
    for (const preset of acpPresets()) {
      const provider = preset.create(this.options, this.sandbox);
      this.registry.register(preset.name, () => provider);
    }
    for (const agent of this.options.acpAgents ?? []) {
      const provider = new AcpAgentProvider(agent, {
        agentRoot: join(this.options.dataDir, 'agents', agent.name),
        sandbox: this.sandbox,
      });
      this.registry.register(agent.name, () => provider);
    }
  }
}
