import { Logger } from '@nestjs/common';
import { ErrorCode, ProviderUnavailableError } from '@jelmore/contracts';
import { errorOf, names, setup } from './provider-selector.spec-helpers';

// Providers left out while unhealthy or while their circuit is open, and the health loaded at boot.
describe('ProviderSelector', () => {
  beforeAll(() => Logger.overrideLogger(false));

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
