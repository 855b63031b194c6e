import { Logger, Module, Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AcpAgentsRegistrar } from './acp/acp-agents.registrar';
import { providerFolderClasses } from './provider-folders';
import { ProviderRegistry } from './provider-registry.service';
import { ProvidersExplorer } from './providers.explorer';
import { ProviderSelector } from './selection/provider-selector.service';
import {
  agentProviderDefinitions,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
  PROVIDERS_MODULE_OPTIONS,
} from './providers.module-definition';
import type { ProvidersModuleOptions } from './providers.options';
import { AgentSandbox, sharedSandbox } from './process/agent-sandbox';

/** Every folder of this library with a `<name>.provider.ts` (claude/, opencode/, scripted/, ...). */
const builtIn = providerFolderClasses().flatMap(agentProviderDefinitions);

/** The sandbox every agent process runs in, said once at boot: loudly when agents run unconfined. */
const agentSandbox: Provider = {
  provide: AgentSandbox,
  inject: [PROVIDERS_MODULE_OPTIONS],
  useFactory: (options: ProvidersModuleOptions) => {
    const sandbox = sharedSandbox(options.sandbox);
    const logger = new Logger('AgentSandbox');
    const { mode, usable, reason, network } = sandbox.status;
    if (mode === 'off') {
      logger.warn(
        'JELMORE_AGENT_SANDBOX=off: agents run UNCONFINED as the server user; any agent with a shell can read the server environment, its data dir and every tenant workspace',
      );
    } else if (!usable) {
      logger.error(`Agent sandbox unusable, agents with tools will not start: ${reason}`);
    } else logger.log(`Agents run in bubblewrap sandboxes (network: ${network})`);
    return sandbox;
  },
};

/**
 * The provider registry and the built-in providers, one per folder (see provider-folders.ts).
 * `forRoot(options)` / `forRootAsync(...)` configure it;
 * more providers come from `@AgentProvider` classes anywhere in the app, `providers: [...]` in the options,
 * or `ProviderRegistry.register()` at run time.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [
    ProviderRegistry,
    ProviderSelector,
    ProvidersExplorer,
    AcpAgentsRegistrar,
    agentSandbox,
    ...builtIn,
  ],
  exports: [ProviderRegistry, ProviderSelector, AgentSandbox, ...builtIn],
})
export class ProvidersModule extends ConfigurableModuleClass {
  /** Same as forRoot: the name DESIGN.md gives for adding provider classes. */
  static register(options: typeof OPTIONS_TYPE) {
    return ProvidersModule.forRoot(options);
  }
}
