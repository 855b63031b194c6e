import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { providerFolderClasses } from './provider-folders';
import { ProviderRegistry } from './provider-registry.service';
import { ProvidersExplorer } from './providers.explorer';
import { ProviderSelector } from './selection/provider-selector.service';
import {
  agentProviderDefinitions,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
} from './providers.module-definition';

/** Every folder of this library with a `<name>.provider.ts` (claude/, opencode/, scripted/, ...). */
const builtIn = providerFolderClasses().flatMap(agentProviderDefinitions);

/**
 * The provider registry and the built-in providers, one per folder (see provider-folders.ts).
 * `forRoot(options)` / `forRootAsync(...)` configure it;
 * more providers come from `@AgentProvider` classes anywhere in the app, `providers: [...]` in the options,
 * or `ProviderRegistry.register()` at run time.
 */
@Module({
  imports: [DiscoveryModule],
  providers: [ProviderRegistry, ProviderSelector, ProvidersExplorer, ...builtIn],
  exports: [ProviderRegistry, ProviderSelector, ...builtIn],
})
export class ProvidersModule extends ConfigurableModuleClass {
  /** Same as forRoot: the name DESIGN.md gives for adding provider classes. */
  static register(options: typeof OPTIONS_TYPE) {
    return ProvidersModule.forRoot(options);
  }
}
