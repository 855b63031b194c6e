import { ConfigurableModuleBuilder, Provider, Type } from '@nestjs/common';
import type { AgentProviderPort } from '@jelmore/contracts';
import { AgentProvider } from './agent-provider.decorator';
import { providerToken } from './providers.constants';
import type { ProvidersModuleOptions } from './providers.options';

export interface ProvidersModuleExtras {
  /** More `@AgentProvider` classes to declare in this module (they may inject its options). */
  providers: Type<AgentProviderPort>[];
  /** Makes the registry injectable everywhere without importing this module. */
  isGlobal: boolean;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: PROVIDERS_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ProvidersModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<ProvidersModuleExtras>({ providers: [], isGlobal: false }, (definition, extras) => {
    const added = extras.providers.flatMap(agentProviderDefinitions);
    return {
      ...definition,
      global: extras.isGlobal,
      providers: [...(definition.providers ?? []), ...added],
      exports: [...(definition.exports ?? []), ...added],
    };
  })
  .build();

/** The class itself plus its by-name token, so a provider can be injected either way. */
export function agentProviderDefinitions(cls: Type<AgentProviderPort>): Provider[] {
  const name = Reflect.getMetadata(AgentProvider.KEY, cls) as string | undefined;
  if (!name) throw new Error(`${cls.name} is not decorated with @AgentProvider('name')`);
  return [cls, { provide: providerToken(name), useExisting: cls }];
}
