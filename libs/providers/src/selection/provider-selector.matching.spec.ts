import { Logger } from '@nestjs/common';
import {
  ErrorCode,
  ModelNotSupportedError,
  ProviderNotFoundError,
  ProviderUnavailableError,
} from '@jelmore/contracts';
import type { SelectionAlgorithm } from './selection.types';
import {
  errorOf,
  FakeProvider,
  model,
  names,
  pairs,
  setup,
} from './provider-selector.spec-helpers';

// Which providers qualify: one named outright, those serving a named model, those able enough.
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
});
