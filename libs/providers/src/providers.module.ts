import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ClaudeCodeProvider } from './claude/claude.provider';
import { OpencodeProvider } from './opencode/opencode.provider';
import { ScriptedProvider } from './scripted/scripted.provider';
import { ProviderRegistry } from './provider-registry.service';
import { ProvidersExplorer } from './providers.explorer';
import { ProviderSelector } from './selection/provider-selector.service';
import {
  agentProviderDefinitions,
  ConfigurableModuleClass,
  OPTIONS_TYPE,
} from './providers.module-definition';

const builtIn = [ClaudeCodeProvider, OpencodeProvider, ScriptedProvider].flatMap(
  agentProviderDefinitions,
);

/**
 * The provider registry and the built-in providers. `forRoot(options)` / `forRootAsync(...)` configure it;
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
