import { Logger } from '@nestjs/common';
import {
  AgentProviderPort,
  AgentSession,
  ErrorCode,
  ModelInfo,
  ModelNotSupportedError,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
  ProviderNotFoundError,
  ProviderUnavailableError,
} from '@jelmore/contracts';
import { ProviderRegistry } from '../provider-registry.service';
import type { ProvidersModuleOptions } from '../providers.options';
import { ProviderSelector } from './provider-selector.service';
import type { ProviderCandidate, SelectionAlgorithm, SelectionRequest } from './selection.types';

const NO_CAPS: ProviderCapabilities = {
  streaming: false,
  tools: false,
  fileOperations: false,
  codeExecution: false,
  multimodal: false,
  continuation: false,
  interrupt: false,
  steer: false,
  warmStart: false,
  directoryTracking: false,
  maxConcurrentSessions: 1,
  maxContextTokens: 0,
};

function model(
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
class FakeProvider implements AgentProviderPort {
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

function setup(
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

function names(candidates: ProviderCandidate[]): string[] {
  return candidates.map((c) => c.provider.name);
}

function pairs(candidates: ProviderCandidate[]): string[] {
  return candidates.map((c) => `${c.provider.name}:${c.model.id}`);
}

function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a throw');
}

describe('ProviderSelector', () => {
  beforeAll(() => Logger.overrideLogger(false));

  describe('explicit provider', () => {
    it('returns only that provider, with its default model', () => {
      const { selector, p } = setup();
      const result = selector.candidates({ provider: 'alpha' });
      expect(result).toHaveLength(1);
      expect(result[0].provider).toBe(p.alpha);
      expect(result[0].model.id).toBe('alpha-pro');
    });

    it('uses the named model, resolving an alias to its canonical model', () => {
      const { selector } = setup();
      expect(pairs(selector.candidates({ provider: 'alpha', model: 'alpha-max' }))).toEqual([
        'alpha:alpha-max',
      ]);
      expect(pairs(selector.candidates({ provider: 'alpha', model: 'lite' }))).toEqual([
        'alpha:alpha-lite',
      ]);
    });

    it('rejects a model the provider does not serve with MODEL_NOT_SUPPORTED', () => {
      const { selector } = setup();
      // beta-mm exists, but on beta, not alpha.
      const err = errorOf(() => selector.candidates({ provider: 'alpha', model: 'beta-mm' }));
      expect(err).toBeInstanceOf(ModelNotSupportedError);
      expect(err).toMatchObject({
        code: ErrorCode.ModelNotSupported,
        model: 'beta-mm',
        provider: 'alpha',
      });
      expect(err.message).toBe("Model 'beta-mm' is not supported by provider 'alpha'");
    });

    it('refuses a provider lacking a required capability with PROVIDER_UNAVAILABLE naming it', () => {
      const { selector } = setup();
      const err = errorOf(() =>
        selector.candidates({ provider: 'gamma', requirements: { capabilities: ['multimodal'] } }),
      );
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err).toMatchObject({ code: ErrorCode.ProviderUnavailable, provider: 'gamma' });
      expect(err.message).toBe("Provider 'gamma' is unavailable: it lacks multimodal");

      const both = errorOf(() =>
        selector.candidates({
          provider: 'beta',
          requirements: { capabilities: ['multimodal', 'codeExecution', 'fileOperations'] },
        }),
      );
      expect(both.message).toBe(
        "Provider 'beta' is unavailable: it lacks codeExecution, fileOperations",
      );
    });

    it('returns the provider even when it is unhealthy or its circuit is open', async () => {
      const { selector, p } = setup();
      p.alpha.unhealthy('binary missing');
      await selector.refreshHealth();
      for (let i = 0; i < 3; i++) selector.circuit('alpha').recordFailure();
      expect(selector.circuitState('alpha')).toBe('open');

      expect(pairs(selector.candidates({ provider: 'alpha' }))).toEqual(['alpha:alpha-pro']);
      // Health does not consult the provider again; createSession is its own to refuse.
      expect(p.alpha.sessionsCreated).toBe(0);
    });

    it('picks the cheapest, or the priciest, of its models on request', () => {
      const { selector } = setup();
      expect(
        pairs(selector.candidates({ provider: 'alpha', requirements: { costSensitive: true } })),
      ).toEqual(['alpha:alpha-lite']);
      expect(
        pairs(selector.candidates({ provider: 'alpha', requirements: { premiumFeatures: true } })),
      ).toEqual(['alpha:alpha-max']);
    });

    it('does not consult a custom algorithm', () => {
      const algorithm = jest.fn<string | null, Parameters<SelectionAlgorithm>>(() => 'beta');
      const { selector } = setup({}, algorithm);
      expect(names(selector.candidates({ provider: 'alpha' }))).toEqual(['alpha']);
      expect(algorithm).not.toHaveBeenCalled();
    });

    it('throws PROVIDER_NOT_FOUND for an unknown provider', () => {
      const { selector } = setup();
      const err = errorOf(() => selector.candidates({ provider: 'nope' }));
      expect(err).toBeInstanceOf(ProviderNotFoundError);
      expect(err.code).toBe(ErrorCode.ProviderNotFound);
      expect(err.message).toBe("Unknown provider 'nope'; known: alpha, beta, gamma, delta");
    });

    // Too little context on an explicit provider is its unavailability, not an unknown model.
    it('refuses an explicit provider whose context is too small as PROVIDER_UNAVAILABLE', () => {
      const { selector } = setup();
      const err = errorOf(() =>
        selector.candidates({ provider: 'gamma', requirements: { minContextTokens: 100_000 } }),
      );
      expect(err.code).toBe(ErrorCode.ProviderUnavailable);
      expect(err.message).toContain('context');
    });
  });

  describe('model match', () => {
    it('picks the provider serving a model id', () => {
      const { selector, p } = setup();
      const result = selector.candidates({ model: 'delta-1' });
      expect(result).toHaveLength(1);
      expect(result[0].provider).toBe(p.delta);
      expect(result[0].model.id).toBe('delta-1');
    });

    it('picks the provider serving a model alias, with the canonical model', () => {
      const { selector } = setup();
      expect(pairs(selector.candidates({ model: 'vision' }))).toEqual(['beta:beta-mm']);
      expect(pairs(selector.candidates({ model: 'max' }))).toEqual(['alpha:alpha-max']);
    });

    it('uses the named model even when cost optimization would pick another', () => {
      const { selector } = setup({ costOptimization: true });
      expect(pairs(selector.candidates({ model: 'alpha-max' }))).toEqual(['alpha:alpha-max']);
    });

    it('lists every provider serving a shared model, in the built-in order', () => {
      const shared = (provider: string) => model(provider, 'shared-1', 10_000, 1, 1, ['shared']);
      const one = new FakeProvider('one', { maxContextTokens: 10_000 }, [shared('one')]);
      const two = new FakeProvider('two', { maxContextTokens: 10_000 }, [shared('two')]);
      const { selector } = setup({ defaultProvider: 'two' }, undefined, [one, two]);
      expect(pairs(selector.candidates({ model: 'shared' }))).toEqual([
        'two:shared-1',
        'one:shared-1',
      ]);
    });

    it('rejects a model no provider serves with MODEL_NOT_SUPPORTED', () => {
      const { selector } = setup();
      const err = errorOf(() => selector.candidates({ model: 'gpt-4' }));
      expect(err).toBeInstanceOf(ModelNotSupportedError);
      expect(err).toMatchObject({ code: ErrorCode.ModelNotSupported, model: 'gpt-4' });
      expect(err.message).toBe("No provider serves model 'gpt-4'");
    });

    it('reports a served model whose provider lacks a capability as PROVIDER_UNAVAILABLE', () => {
      const { selector } = setup();
      const err = errorOf(() =>
        selector.candidates({ model: 'cheap', requirements: { capabilities: ['tools'] } }),
      );
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err.message).toBe("Provider 'any' is unavailable: no provider meets tools");
    });

    // A named model must also fit the context the session needs.
    it('does not pick a named model whose context window is below minContextTokens', () => {
      const { selector } = setup();
      const err = errorOf(() =>
        selector.candidates({ model: 'alpha-lite', requirements: { minContextTokens: 100_000 } }),
      );
      expect(err.code).toBe(ErrorCode.ProviderUnavailable);
    });
  });

  describe('capability filter', () => {
    it('keeps only the providers having every required capability', () => {
      const { selector } = setup();
      expect(
        names(selector.candidates({ requirements: { capabilities: ['multimodal'] } })),
      ).toEqual(['beta']);
      expect(names(selector.candidates({ requirements: { capabilities: ['tools'] } }))).toEqual([
        'beta',
        'alpha',
        'delta',
      ]);
      expect(
        names(selector.candidates({ requirements: { capabilities: ['tools', 'codeExecution'] } })),
      ).toEqual(['delta']);
    });

    it('throws PROVIDER_UNAVAILABLE naming the requirements when no provider has them', () => {
      const { selector } = setup();
      const err = errorOf(() =>
        selector.candidates({ requirements: { capabilities: ['multimodal', 'codeExecution'] } }),
      );
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err).toMatchObject({ code: ErrorCode.ProviderUnavailable, provider: 'any' });
      expect(err.message).toBe(
        "Provider 'any' is unavailable: no provider meets multimodal, codeExecution",
      );
    });

    it('filters providers by minContextTokens and keeps their fitting default model', () => {
      const { selector } = setup();
      // gamma (32k) and delta (64k) are too small; alpha-pro (100k) fits exactly.
      expect(pairs(selector.candidates({ requirements: { minContextTokens: 100_000 } }))).toEqual([
        'beta:beta-mm',
        'alpha:alpha-pro',
      ]);
    });

    it('picks a model whose context fits when the default does not', () => {
      const { selector } = setup();
      expect(pairs(selector.candidates({ requirements: { minContextTokens: 150_000 } }))).toEqual([
        'alpha:alpha-max',
      ]);
    });

    it('throws PROVIDER_UNAVAILABLE when no provider has enough context', () => {
      const { selector } = setup();
      const err = errorOf(() =>
        selector.candidates({ requirements: { minContextTokens: 300_000 } }),
      );
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err.message).toBe(
        "Provider 'any' is unavailable: no provider meets 300000 tokens of context",
      );
      const both = errorOf(() =>
        selector.candidates({
          requirements: { capabilities: ['multimodal'], minContextTokens: 150_000 },
        }),
      );
      expect(both.message).toBe(
        "Provider 'any' is unavailable: no provider meets multimodal, 150000 tokens of context",
      );
    });

    it('drops a provider whose maxContextTokens is below the requirement even if a model fits', () => {
      // A model claiming more context than its provider allows: the provider limit wins.
      const odd = new FakeProvider('odd', { maxContextTokens: 8_000 }, [
        model('odd', 'odd-1', 500_000, 1, 1),
      ]);
      const { selector } = setup({ defaultProvider: 'odd' }, undefined, (p) => [odd, p.alpha]);
      expect(pairs(selector.candidates({ requirements: { minContextTokens: 150_000 } }))).toEqual([
        'alpha:alpha-max',
      ]);
    });
  });

  describe('health and circuit', () => {
    it('treats a provider not yet checked as usable', () => {
      const { selector, p } = setup();
      p.beta.unhealthy('not checked yet');
      expect(selector.lastHealth('beta')).toBeUndefined();
      expect(names(selector.candidates({}))[0]).toBe('beta');
    });

    it('drops a provider refreshHealth found unhealthy, and takes it back once healthy', async () => {
      const { selector, p } = setup();
      p.beta.unhealthy('rate limited');
      const all = await selector.refreshHealth();
      expect(all.beta).toMatchObject({ healthy: false, reason: 'rate limited' });
      expect(all.alpha.healthy).toBe(true);
      expect(selector.lastHealth('beta')).toMatchObject({ healthy: false });

      expect(names(selector.candidates({}))).toEqual(['alpha', 'gamma', 'delta']);
      expect(() => selector.candidates({ model: 'vision' })).toThrow(
        expect.objectContaining({
          code: ErrorCode.ProviderUnavailable,
          message: "Provider 'any' is unavailable: no provider is available (beta: rate limited)",
        }),
      );

      p.beta.health = { healthy: true, checkedAt: new Date(0).toISOString() };
      await selector.refreshHealth();
      expect(names(selector.candidates({}))).toEqual(['beta', 'alpha', 'gamma', 'delta']);
    });

    it('treats a health check that throws as unhealthy', async () => {
      const { selector, p } = setup();
      p.delta.health = new Error('socket hang up');
      await selector.refreshHealth();
      expect(selector.lastHealth('delta')).toMatchObject({
        healthy: false,
        reason: 'socket hang up',
      });
      expect(names(selector.candidates({}))).not.toContain('delta');
    });

    it('lists each provider and its reason when none is healthy', async () => {
      const { selector, p } = setup();
      p.alpha.unhealthy('binary missing');
      p.beta.unhealthy('no API key');
      p.gamma.unhealthy('out of credit');
      p.delta.health = { healthy: false, checkedAt: new Date(0).toISOString() };
      await selector.refreshHealth();

      const err = errorOf(() => selector.candidates({}));
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err.code).toBe(ErrorCode.ProviderUnavailable);
      expect(err.message).toBe(
        "Provider 'any' is unavailable: no provider is available " +
          '(beta: no API key; alpha: binary missing; gamma: out of credit; delta: unhealthy)',
      );
    });

    it('lists only the providers that passed the earlier filters', async () => {
      const { selector, p } = setup();
      for (const f of [p.alpha, p.beta, p.gamma, p.delta]) f.unhealthy(`${f.name} down`);
      await selector.refreshHealth();
      const err = errorOf(() => selector.candidates({ requirements: { capabilities: ['tools'] } }));
      expect(err.message).toBe(
        "Provider 'any' is unavailable: no provider is available " +
          '(beta: beta down; alpha: alpha down; delta: delta down)',
      );
    });

    it('drops a provider whose circuit is open', () => {
      const { selector } = setup();
      selector.circuit('beta').recordFailure();
      selector.circuit('beta').recordFailure();
      expect(names(selector.candidates({}))[0]).toBe('beta');
      selector.circuit('beta').recordFailure();
      expect(selector.circuitState('beta')).toBe('open');
      expect(names(selector.candidates({}))).toEqual(['alpha', 'gamma', 'delta']);
    });

    it('select() reports the providers passed over ahead of the choice, and why', async () => {
      const { selector, p } = setup();
      p.beta.unhealthy('binary missing');
      p.alpha.unhealthy('no key');
      await selector.refreshHealth();
      for (let i = 0; i < 3; i++) selector.circuit('delta').recordFailure();

      // Ranked: beta (the default), alpha, gamma, delta; the first usable is gamma.
      const { candidates, skipped } = selector.select({});
      expect(names(candidates)).toEqual(['gamma']);
      expect(skipped).toEqual(['beta skipped (binary missing)', 'alpha skipped (no key)']);
      // Providers ranked after the choice (delta, circuit open) were never in line: not "skipped".
      expect(skipped.join()).not.toContain('delta');
      expect(selector.select({ provider: 'alpha' })).toEqual({
        candidates: [{ provider: p.alpha, model: expect.objectContaining({ id: 'alpha-pro' }) }],
        skipped: [],
      });
    });

    it('gives one circuit per provider name', () => {
      const { selector } = setup();
      expect(selector.circuit('alpha')).toBe(selector.circuit('alpha'));
      expect(selector.circuit('alpha')).not.toBe(selector.circuit('beta'));
      expect(selector.circuitState('gamma')).toBe('closed');
    });

    it('says "circuit open" when every candidate is refused by its circuit', () => {
      const { selector } = setup();
      for (let i = 0; i < 3; i++) selector.circuit('beta').recordFailure();
      const err = errorOf(() => selector.candidates({ model: 'vision' }));
      expect(err.message).toBe(
        "Provider 'any' is unavailable: no provider is available (beta: circuit open)",
      );
    });

    describe('after the cooldown', () => {
      beforeEach(() => jest.useFakeTimers({ now: 1_700_000_000_000 }));
      afterEach(() => jest.useRealTimers());

      it('lets the provider back in half-open, until its trial is claimed', () => {
        const { selector } = setup({ circuit: { failureThreshold: 3, cooldownMs: 50 } });
        for (let i = 0; i < 3; i++) selector.circuit('beta').recordFailure();
        expect(names(selector.candidates({}))).not.toContain('beta');

        jest.advanceTimersByTime(49);
        expect(selector.circuitState('beta')).toBe('open');
        expect(names(selector.candidates({}))).not.toContain('beta');

        jest.advanceTimersByTime(1);
        expect(selector.circuitState('beta')).toBe('half-open');
        expect(names(selector.candidates({}))).toEqual(['beta', 'alpha', 'gamma', 'delta']);

        // The session service claims the trial when it sends a session there.
        selector.circuit('beta').begin();
        expect(names(selector.candidates({}))).toEqual(['alpha', 'gamma', 'delta']);
        expect(errorOf(() => selector.candidates({ model: 'vision' })).message).toContain(
          'beta: circuit half-open',
        );

        selector.circuit('beta').recordSuccess();
        expect(selector.circuitState('beta')).toBe('closed');
        expect(names(selector.candidates({}))[0]).toBe('beta');
      });

      it('uses the options.circuit threshold', () => {
        const { selector } = setup({ circuit: { failureThreshold: 1, cooldownMs: 50 } });
        selector.circuit('alpha').recordFailure();
        expect(selector.circuitState('alpha')).toBe('open');
      });
    });
  });

  describe('default order', () => {
    it('puts the default provider first, then registry order', () => {
      const { selector } = setup({ defaultProvider: 'gamma' });
      expect(pairs(selector.candidates({}))).toEqual([
        'gamma:gamma-mini',
        'alpha:alpha-pro',
        'beta:beta-mm',
        'delta:delta-1',
      ]);
    });

    it('keeps registry order when the default provider is filtered out', () => {
      const { selector } = setup({ defaultProvider: 'gamma' });
      expect(names(selector.candidates({ requirements: { capabilities: ['tools'] } }))).toEqual([
        'alpha',
        'beta',
        'delta',
      ]);
    });

    it('ignores load and price while neither balancing nor optimizing', () => {
      const { selector, p } = setup({ defaultProvider: 'delta' });
      p.delta.activeSessions = 4; // full
      p.alpha.activeSessions = 4;
      expect(names(selector.candidates({}))).toEqual(['delta', 'alpha', 'beta', 'gamma']);
      expect(names(selector.candidates({}))).toEqual(['delta', 'alpha', 'beta', 'gamma']);
    });
  });

  describe('load balancing', () => {
    it('orders by load (active / max sessions), least loaded first', () => {
      const { selector, p } = setup({ loadBalancing: true });
      p.alpha.activeSessions = 2; // 2/4 = 0.5
      p.beta.activeSessions = 0; // 0/2 = 0
      p.gamma.activeSessions = 3; // 3/10 = 0.3: more sessions than alpha, yet less loaded
      p.delta.activeSessions = 4; // 4/4 = 1
      expect(names(selector.candidates({}))).toEqual(['beta', 'gamma', 'alpha', 'delta']);
    });

    it('does not prefer the default provider when it is more loaded', () => {
      const { selector, p } = setup({ loadBalancing: true, defaultProvider: 'alpha' });
      p.alpha.activeSessions = 1;
      expect(names(selector.candidates({})).at(-1)).toBe('alpha');
    });

    it('rotates round robin among equally loaded providers across calls', () => {
      const { selector } = setup({ loadBalancing: true });
      const orders = Array.from({ length: 5 }, () => names(selector.candidates({})));
      expect(orders).toEqual([
        ['alpha', 'beta', 'gamma', 'delta'],
        ['beta', 'gamma', 'delta', 'alpha'],
        ['gamma', 'delta', 'alpha', 'beta'],
        ['delta', 'alpha', 'beta', 'gamma'],
        ['alpha', 'beta', 'gamma', 'delta'],
      ]);
    });

    it('rotates only within a load tier', () => {
      const { selector, p } = setup({ loadBalancing: true });
      p.delta.activeSessions = 2; // 0.5; the rest are idle
      for (let i = 0; i < 6; i++) {
        const order = names(selector.candidates({}));
        expect(order.at(-1)).toBe('delta');
        expect([...order].sort()).toEqual(['alpha', 'beta', 'delta', 'gamma']);
      }
      // Every idle provider got to go first at least once over those calls.
      const firsts = new Set<string>();
      for (let i = 0; i < 4; i++) firsts.add(names(selector.candidates({}))[0]);
      expect([...firsts].sort()).toEqual(['alpha', 'beta', 'gamma']);
    });
  });

  describe('cost', () => {
    it('orders by model price (input + output), cheapest first, when optimizing', () => {
      const { selector } = setup({ costOptimization: true });
      // gamma-mini 0.5, alpha-lite 1.5, delta-1 10, beta-mm 12.5
      expect(pairs(selector.candidates({}))).toEqual([
        'gamma:gamma-mini',
        'alpha:alpha-lite',
        'delta:delta-1',
        'beta:beta-mm',
      ]);
    });

    it('does the same for a costSensitive request while optimization is off', () => {
      const { selector } = setup();
      expect(pairs(selector.candidates({ requirements: { costSensitive: true } }))).toEqual([
        'gamma:gamma-mini',
        'alpha:alpha-lite',
        'delta:delta-1',
        'beta:beta-mm',
      ]);
      // And only for that request.
      expect(names(selector.candidates({}))[0]).toBe('beta');
    });

    it('chooses the cheapest model that fits within a provider', () => {
      const { selector } = setup({ costOptimization: true });
      // alpha-lite (50k) is too small; alpha-pro (100k) is the cheapest that fits.
      // gamma (32k) drops out; alpha-pro (18) now costs more than delta-1 (10) and beta-mm (12.5).
      expect(pairs(selector.candidates({ requirements: { minContextTokens: 60_000 } }))).toEqual([
        'delta:delta-1',
        'beta:beta-mm',
        'alpha:alpha-pro',
      ]);
      // With room for alpha-lite, alpha is second again.
      expect(pairs(selector.candidates({ requirements: { minContextTokens: 40_000 } }))).toEqual([
        'alpha:alpha-lite',
        'delta:delta-1',
        'beta:beta-mm',
      ]);
    });

    it('puts the priciest first for premiumFeatures', () => {
      const { selector } = setup();
      expect(pairs(selector.candidates({ requirements: { premiumFeatures: true } }))).toEqual([
        'alpha:alpha-max',
        'beta:beta-mm',
        'delta:delta-1',
        'gamma:gamma-mini',
      ]);
    });

    it('lets cost sensitivity win over premiumFeatures', () => {
      const { selector } = setup();
      expect(
        pairs(
          selector.candidates({ requirements: { costSensitive: true, premiumFeatures: true } }),
        ),
      ).toEqual(['gamma:gamma-mini', 'alpha:alpha-lite', 'delta:delta-1', 'beta:beta-mm']);
    });

    it('breaks price ties with the default provider, then registry order', () => {
      const twin = (name: string) =>
        new FakeProvider(name, { maxContextTokens: 10_000 }, [
          model(name, `${name}-1`, 10_000, 1, 1),
        ]);
      const { selector } = setup({ costOptimization: true, defaultProvider: 'y' }, undefined, [
        twin('x'),
        twin('y'),
        twin('z'),
      ]);
      expect(names(selector.candidates({}))).toEqual(['y', 'x', 'z']);
    });
  });

  describe('custom algorithm', () => {
    it('puts the choice of one given to the constructor first and keeps the rest in order', () => {
      const algorithm = jest.fn<string | null, Parameters<SelectionAlgorithm>>(() => 'gamma');
      const { selector } = setup({}, algorithm);
      const request: SelectionRequest = { requirements: { costSensitive: false } };
      expect(names(selector.candidates(request))).toEqual(['gamma', 'beta', 'alpha', 'delta']);

      expect(algorithm).toHaveBeenCalledTimes(1);
      const [given, seen] = algorithm.mock.calls[0];
      // It sees the built-in order and the request.
      expect(names([...given])).toEqual(['beta', 'alpha', 'gamma', 'delta']);
      expect(seen).toBe(request);
    });

    it('sees only the candidates the built-in rules left', async () => {
      const algorithm = jest.fn<string | null, Parameters<SelectionAlgorithm>>(() => null);
      const { selector, p } = setup({}, algorithm);
      p.delta.unhealthy('down');
      await selector.refreshHealth();
      selector.candidates({ requirements: { capabilities: ['tools'] } });
      expect(names([...algorithm.mock.calls[0][0]])).toEqual(['beta', 'alpha']);
    });

    it('leaves the built-in order when it returns null', () => {
      const { selector } = setup({ costOptimization: true }, () => null);
      expect(names(selector.candidates({}))).toEqual(['gamma', 'alpha', 'delta', 'beta']);
    });

    it('refuses a choice that is not among the candidates with PROVIDER_UNAVAILABLE', () => {
      const { selector } = setup({}, () => 'gamma');
      const err = errorOf(() =>
        selector.candidates({ requirements: { capabilities: ['multimodal'] } }),
      );
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err).toMatchObject({ code: ErrorCode.ProviderUnavailable, provider: 'gamma' });
      expect(err.message).toBe(
        "Provider 'gamma' is unavailable: the custom selection chose a provider that cannot serve this request",
      );

      const unknown = errorOf(() => setup({}, () => 'nobody').selector.candidates({}));
      expect(unknown).toMatchObject({ code: ErrorCode.ProviderUnavailable, provider: 'nobody' });
    });

    it('can be set, replaced and removed with setSelectionAlgorithm', () => {
      const { selector } = setup();
      expect(names(selector.candidates({}))[0]).toBe('beta');

      selector.setSelectionAlgorithm(() => 'delta');
      expect(names(selector.candidates({}))).toEqual(['delta', 'beta', 'alpha', 'gamma']);

      selector.setSelectionAlgorithm((candidates) => candidates.at(-1)!.provider.name);
      expect(names(selector.candidates({}))).toEqual(['delta', 'beta', 'alpha', 'gamma']);

      selector.setSelectionAlgorithm(() => 'alpha');
      expect(names(selector.candidates({}))).toEqual(['alpha', 'beta', 'gamma', 'delta']);

      selector.setSelectionAlgorithm(null);
      expect(names(selector.candidates({}))).toEqual(['beta', 'alpha', 'gamma', 'delta']);
    });

    it('replaces one given to the constructor', () => {
      const { selector } = setup({}, () => 'gamma');
      selector.setSelectionAlgorithm(null);
      expect(names(selector.candidates({}))[0]).toBe('beta');
    });

    it('keeps the chosen candidate with its model', () => {
      const { selector } = setup({ costOptimization: true }, () => 'alpha');
      expect(pairs(selector.candidates({}))[0]).toBe('alpha:alpha-lite');
    });
  });

  describe('precedence', () => {
    it('decides by price before load when both are on', () => {
      const { selector, p } = setup({ costOptimization: true, loadBalancing: true });
      p.gamma.activeSessions = 10; // full, yet cheapest
      p.beta.activeSessions = 0;
      expect(names(selector.candidates({}))).toEqual(['gamma', 'alpha', 'delta', 'beta']);
    });

    it('falls back to load among equally priced providers', () => {
      const twin = (name: string, active: number) => {
        const f = new FakeProvider(name, { maxConcurrentSessions: 4, maxContextTokens: 10_000 }, [
          model(name, `${name}-1`, 10_000, 1, 1),
        ]);
        f.activeSessions = active;
        return f;
      };
      const { selector } = setup(
        { costOptimization: true, loadBalancing: true, defaultProvider: 'x' },
        undefined,
        [twin('x', 3), twin('y', 1), twin('z', 2)],
      );
      expect(names(selector.candidates({}))).toEqual(['y', 'z', 'x']);
    });

    it('decides by premium price before load', () => {
      const { selector, p } = setup({ loadBalancing: true });
      p.alpha.activeSessions = 4; // full, yet priciest
      expect(names(selector.candidates({ requirements: { premiumFeatures: true } }))).toEqual([
        'alpha',
        'beta',
        'delta',
        'gamma',
      ]);
    });

    it('lets the default provider win over a cheaper one when neither is on', () => {
      const { selector } = setup({ defaultProvider: 'beta' });
      // beta-mm (12.5) is 25 times gamma-mini (0.5).
      expect(names(selector.candidates({}))[0]).toBe('beta');
    });

    it('filters by capability and health before ordering by price', async () => {
      const { selector, p } = setup({ costOptimization: true });
      p.gamma.unhealthy('down');
      await selector.refreshHealth();
      expect(names(selector.candidates({ requirements: { capabilities: ['tools'] } }))).toEqual([
        'alpha',
        'delta',
        'beta',
      ]);
    });

    it('applies the custom algorithm after every built-in rule', () => {
      const { selector, p } = setup({ loadBalancing: true }, () => 'delta');
      p.alpha.activeSessions = 1;
      p.beta.activeSessions = 1;
      p.gamma.activeSessions = 1;
      p.delta.activeSessions = 4;
      // Built-in: gamma (0.1), alpha (0.25), beta (0.5), delta (1); the algorithm lifts delta.
      expect(names(selector.candidates({}))).toEqual(['delta', 'gamma', 'alpha', 'beta']);
    });
  });

  it('loads health in the background at application bootstrap', async () => {
    const { selector, p } = setup();
    p.beta.unhealthy('boot check');
    selector.onApplicationBootstrap();
    // Until the first answers arrive, nothing is held against a provider.
    expect(selector.lastHealth('beta')).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(selector.lastHealth('beta')).toMatchObject({ healthy: false, reason: 'boot check' });
    expect(names(selector.candidates({}))[0]).toBe('alpha');
  });
});
