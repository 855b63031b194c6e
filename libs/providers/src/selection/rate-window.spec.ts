import { Logger } from '@nestjs/common';
import { ErrorCode, RateLimitedError } from '@jelmore/contracts';
import { ProviderRegistry } from '../provider-registry.service';
import type { ProvidersModuleOptions } from '../providers.options';
import { ProviderSelector } from './provider-selector.service';
import { RateWindow } from './rate-window';

describe('RateWindow', () => {
  let now = 0;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000;
  });

  it('admits up to its limit in a window, then says how long until the oldest ages out', () => {
    const window = new RateWindow(3, 60_000, clock);
    for (let i = 0; i < 3; i++) {
      expect(window.waitMs()).toBe(0);
      window.record();
      now += 10_000;
    }
    // Admitted at 1 s, 11 s and 21 s; it is 31 s: the first frees at 61 s.
    expect(window.waitMs()).toBe(30_000);
    expect(window.used).toBe(3);
    now = 61_000 - 1;
    expect(window.waitMs()).toBe(1);
    now = 61_000;
    expect(window.waitMs()).toBe(0);
    expect(window.used).toBe(2);
  });

  it('slides: a burst at the end of one window still counts at the start of the next', () => {
    const window = new RateWindow(2, 1_000, clock);
    now = 900;
    window.record();
    window.record();
    now = 1_100;
    // A fixed window would have reset at 1,000 ms.
    expect(window.waitMs()).toBe(800);
    now = 1_900;
    expect(window.waitMs()).toBe(0);
  });

  it('counts only what is recorded: checking costs nothing', () => {
    const window = new RateWindow(1, 1_000, clock);
    for (let i = 0; i < 10; i++) expect(window.waitMs()).toBe(0);
    window.record();
    for (let i = 0; i < 10; i++) expect(window.waitMs()).toBe(1_000);
    now += 1_000;
    expect(window.waitMs()).toBe(0);
  });
});

describe('ProviderSelector.admitStart', () => {
  let now = 0;
  beforeAll(() => Logger.overrideLogger(false));
  beforeEach(() => {
    now = 0;
  });

  function selector(rateLimits?: ProvidersModuleOptions['rateLimits']): ProviderSelector {
    const options = {
      defaultProvider: 'alpha',
      loadBalancing: false,
      costOptimization: false,
      circuit: { failureThreshold: 3, cooldownMs: 1000 },
      rateLimits,
    } as ProvidersModuleOptions;
    // Its windows read the clock it is given (RATE_LIMIT_CLOCK): here, `now`.
    return new ProviderSelector(new ProviderRegistry(options), options, undefined, () => now);
  }

  function rateLimited(fn: () => unknown): RateLimitedError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(RateLimitedError);
      return err as RateLimitedError;
    }
    throw new Error('expected RateLimitedError');
  }

  it('lets every start through when no limits are configured', () => {
    const s = selector();
    expect(() => {
      for (let i = 0; i < 100; i++) s.admitStart('alpha')();
    }).not.toThrow();
  });

  it('limits each named provider on its own and leaves the others alone', () => {
    const s = selector({ sessionsPerWindow: { alpha: 2 }, windowMs: 60_000 });
    s.admitStart('alpha')();
    now += 15_000;
    s.admitStart('alpha')();
    const err = rateLimited(() => s.admitStart('alpha'));
    expect(err.code).toBe(ErrorCode.RateLimited);
    // The first start frees its slot 45 s from now.
    expect(err.retryAfter).toBe(45);
    expect(err.details).toEqual({ provider: 'alpha' });
    expect(err.message).toContain("Provider 'alpha' started its 2 sessions per 60 s");
    for (let i = 0; i < 10; i++) s.admitStart('beta')();
    now += 45_000;
    s.admitStart('alpha')();
    expect(rateLimited(() => s.admitStart('alpha')).retryAfter).toBe(15);
  });

  it('counts a start only once the provider has accepted it', () => {
    const s = selector({ sessionsPerWindow: { alpha: 1 }, windowMs: 60_000 });
    // Checked, then refused by the provider (e.g. at capacity): never admitted.
    for (let i = 0; i < 5; i++) s.admitStart('alpha');
    const admitted = s.admitStart('alpha');
    admitted();
    rateLimited(() => s.admitStart('alpha'));
  });
});
