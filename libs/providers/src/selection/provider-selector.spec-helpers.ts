import {
  AgentProviderPort,
  AgentSession,
  ModelInfo,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
} from '@jelmore/contracts';
import { ProviderRegistry } from '../provider-registry.service';
import type { ProvidersModuleOptions } from '../providers.options';
import { ProviderSelector } from './provider-selector.service';
import type { ProviderCandidate, SelectionAlgorithm } from './selection.types';

// What the ProviderSelector specs share: fake providers, a registry and selector over them.

const NO_CAPS: ProviderCapabilities = {
  streaming: false,
  tools: false,
  fileOperations: false,
  codeExecution: false,
  multimodal: false,
  documents: false,
  continuation: false,
  interrupt: false,
  steer: false,
  warmStart: false,
  directoryTracking: false,
  fork: false,
  rewind: false,
  maxConcurrentSessions: 1,
  maxContextTokens: 0,
};

export function model(
  provider: string,
  id: string,
  contextWindow: number,
  input: number,
  output: number,
  aliases: string[] = [],
): ModelInfo {
  return {
    id,
    aliases,
    provider,
    contextWindow,
    inputPricePerMTok: input,
    outputPricePerMTok: output,
  };
}

/** A hand-written provider: capabilities, models (the first is its default), load and health are settable. */
export class FakeProvider implements AgentProviderPort {
  readonly capabilities: ProviderCapabilities;
  activeSessions = 0;
  health: ProviderHealth | Error = { healthy: true, checkedAt: new Date(0).toISOString() };
  sessionsCreated = 0;

  constructor(
    readonly name: string,
    capabilities: Partial<ProviderCapabilities>,
    private readonly served: ModelInfo[],
    private readonly defaultModel = served[0].id,
  ) {
    this.capabilities = { ...NO_CAPS, ...capabilities };
  }

  models(): ModelInfo[] {
    return this.served;
  }

  resolveModel(wanted?: string): ModelInfo | undefined {
    const id = wanted ?? this.defaultModel;
    return this.served.find((m) => m.id === id || m.aliases.includes(id));
  }

  createSession(): AgentSession {
    this.sessionsCreated++;
    throw new Error('not used by the selector');
  }

  async healthCheck(): Promise<ProviderHealth> {
    if (this.health instanceof Error) throw this.health;
    return this.health;
  }

  metrics(): ProviderMetrics {
    return { activeSessions: this.activeSessions, totalSessions: 0, failedSessions: 0 };
  }

  unhealthy(reason: string): void {
    this.health = { healthy: false, reason, checkedAt: new Date(0).toISOString() };
  }
}

/*
 * Prices (input + output per MTok) and context windows:
 *   alpha: alpha-pro (default, 100k, 18), alpha-lite (50k, 1.5), alpha-max (200k, 90); streaming, tools
 *   beta:  beta-mm (128k, 12.5, alias "vision"); streaming, tools, multimodal
 *   gamma: gamma-mini (32k, 0.5, alias "cheap"); streaming
 *   delta: delta-1 (64k, 10); streaming, tools, fileOperations, codeExecution
 */
function fakes() {
  return {
    alpha: new FakeProvider(
      'alpha',
      { streaming: true, tools: true, maxConcurrentSessions: 4, maxContextTokens: 200_000 },
      [
        model('alpha', 'alpha-pro', 100_000, 3, 15, ['pro']),
        model('alpha', 'alpha-lite', 50_000, 0.5, 1, ['lite']),
        model('alpha', 'alpha-max', 200_000, 15, 75, ['max']),
      ],
    ),
    beta: new FakeProvider(
      'beta',
      {
        streaming: true,
        tools: true,
        multimodal: true,
        maxConcurrentSessions: 2,
        maxContextTokens: 128_000,
      },
      [model('beta', 'beta-mm', 128_000, 2.5, 10, ['vision'])],
    ),
    gamma: new FakeProvider(
      'gamma',
      { streaming: true, maxConcurrentSessions: 10, maxContextTokens: 32_000 },
      [model('gamma', 'gamma-mini', 32_000, 0.1, 0.4, ['cheap'])],
    ),
    delta: new FakeProvider(
      'delta',
      {
        streaming: true,
        tools: true,
        fileOperations: true,
        codeExecution: true,
        maxConcurrentSessions: 4,
        maxContextTokens: 64_000,
      },
      [model('delta', 'delta-1', 64_000, 5, 5)],
    ),
  };
}

type Fakes = ReturnType<typeof fakes>;

function optionsWith(overrides: Partial<ProvidersModuleOptions> = {}): ProvidersModuleOptions {
  return {
    defaultProvider: 'beta',
    loadBalancing: false,
    costOptimization: false,
    circuit: { failureThreshold: 3, cooldownMs: 1000 },
    ...overrides,
  } as ProvidersModuleOptions;
}

interface Setup {
  registry: ProviderRegistry;
  selector: ProviderSelector;
  p: Fakes;
}

export function setup(
  overrides: Partial<ProvidersModuleOptions> = {},
  algorithm?: SelectionAlgorithm,
  providers: AgentProviderPort[] | ((p: Fakes) => AgentProviderPort[]) = (p) => [
    p.alpha,
    p.beta,
    p.gamma,
    p.delta,
  ],
): Setup {
  const p = fakes();
  const options = optionsWith(overrides);
  const registry = new ProviderRegistry(options);
  const list = typeof providers === 'function' ? providers(p) : providers;
  for (const provider of list) registry.register(provider.name, () => provider);
  const selector = new ProviderSelector(registry, options, algorithm);
  return { registry, selector, p };
}

export function names(candidates: ProviderCandidate[]): string[] {
  return candidates.map((c) => c.provider.name);
}

export function pairs(candidates: ProviderCandidate[]): string[] {
  return candidates.map((c) => `${c.provider.name}:${c.model.id}`);
}

export function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}
