import { Logger } from '@nestjs/common';
import { ErrorCode, ProviderUnavailableError } from '@jelmore/contracts';
import type { SelectionAlgorithm, SelectionRequest } from './selection.types';
import {
  errorOf,
  FakeProvider,
  model,
  names,
  pairs,
  setup,
} from './provider-selector.spec-helpers';

// The candidates' order: default provider, load, price, a custom algorithm, and which rule wins.
describe('ProviderSelector', () => {
  beforeAll(() => Logger.overrideLogger(false));

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
});
