import { CircuitBreaker, DEFAULT_CIRCUIT_OPTIONS } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let now: number;
  let breaker: CircuitBreaker;

  beforeEach(() => {
    now = 10_000;
    breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 }, () => now);
  });

  function open(): void {
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordFailure();
  }

  it('starts closed and allows sessions', () => {
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('stays closed below the failure threshold', () => {
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
  });

  it('opens on the third consecutive failure and refuses', () => {
    open();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
  });

  it('counts consecutive failures only: a success resets the count', () => {
    breaker.recordFailure();
    breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
  });

  it('stays open until the cooldown has fully passed', () => {
    open();
    now += 999;
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);
    now += 1;
    expect(breaker.state).toBe('half-open');
    expect(breaker.allows()).toBe(true);
  });

  it('lets exactly one trial through while half-open', () => {
    open();
    now += 1000;
    expect(breaker.allows()).toBe(true);
    // Asking does not claim the trial: only begin() does.
    expect(breaker.allows()).toBe(true);

    breaker.begin();
    expect(breaker.state).toBe('half-open');
    expect(breaker.allows()).toBe(false);
    now += 60_000;
    expect(breaker.allows()).toBe(false);
  });

  it('closes when the trial succeeds', () => {
    open();
    now += 1000;
    breaker.begin();
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.allows()).toBe(true);
    // The failure count was reset too: two failures do not reopen it.
    breaker.recordFailure();
    breaker.recordFailure();
    expect(breaker.state).toBe('closed');
  });

  it('reopens with a fresh cooldown when the trial fails', () => {
    open();
    now += 1500;
    breaker.begin();
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.allows()).toBe(false);

    // The cooldown counts from the trial's failure, not from the first opening.
    now += 999;
    expect(breaker.state).toBe('open');
    now += 1;
    expect(breaker.state).toBe('half-open');
    expect(breaker.allows()).toBe(true);

    // A new trial can be claimed in the new half-open window.
    breaker.begin();
    expect(breaker.allows()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe('closed');
  });

  it('a single failure while half-open reopens it even below the threshold', () => {
    open();
    now += 1000;
    breaker.recordFailure();
    expect(breaker.state).toBe('open');
  });

  it('begin() outside half-open claims nothing', () => {
    breaker.begin();
    expect(breaker.allows()).toBe(true);

    open();
    breaker.begin(); // open: no trial to claim
    now += 1000;
    expect(breaker.state).toBe('half-open');
    expect(breaker.allows()).toBe(true);
  });

  it('defaults to 3 failures and a 30 s cooldown on the real clock', () => {
    expect(DEFAULT_CIRCUIT_OPTIONS).toEqual({ failureThreshold: 3, cooldownMs: 30_000 });
    jest.useFakeTimers({ now: 1_000_000 });
    try {
      const real = new CircuitBreaker();
      real.recordFailure();
      real.recordFailure();
      expect(real.state).toBe('closed');
      real.recordFailure();
      expect(real.state).toBe('open');
      jest.advanceTimersByTime(29_999);
      expect(real.state).toBe('open');
      jest.advanceTimersByTime(1);
      expect(real.state).toBe('half-open');
    } finally {
      jest.useRealTimers();
    }
  });
});
