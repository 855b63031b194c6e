import { BURST_THROTTLER, WindowCounterStorage } from './window-counter.storage';

describe('WindowCounterStorage', () => {
  let now = 1_000_000;
  let storage: WindowCounterStorage;

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    storage = new WindowCounterStorage();
  });

  afterEach(() => {
    storage.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  const hit = (key = 'key:a', blockMs = 0) => storage.increment(key, 60_000, 3, blockMs, 'default');

  it('counts up to the limit per key and window, refuses past it without counting, and opens at the window’s end', async () => {
    for (const expected of [1, 2, 3]) {
      expect(await hit()).toMatchObject({ totalHits: expected, isBlocked: false });
    }
    now += 10_000;
    expect(await hit()).toMatchObject({ isBlocked: true, timeToExpire: 50, timeToBlockExpire: 50 });
    expect(await hit()).toMatchObject({ totalHits: 4, isBlocked: true });
    // Another key has its own window.
    expect(await hit('key:b')).toMatchObject({ totalHits: 1, isBlocked: false });
    now += 50_000;
    expect(await hit()).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 60 });
  });

  it('cuts a burst to the bucket, then lets the steady rate through: 1,000 at once, 10 a second', () => {
    // 10 at once, refilled at 10 per second (the `ttl` of a full bucket).
    const take = (key = 'key:a') => storage.hit(key, 1_000, 10, 0, BURST_THROTTLER);
    const burst = Array.from({ length: 1_000 }, () => take().isBlocked);
    expect(burst.filter((blocked) => !blocked)).toHaveLength(10);
    expect(take()).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    expect(take('key:b').isBlocked).toBe(false);
    now += 100; // one token back
    expect(take().isBlocked).toBe(false);
    expect(take().isBlocked).toBe(true);
    now += 10_000; // full again, never more than full
    const next = Array.from({ length: 20 }, () => take().isBlocked);
    expect(next.filter((blocked) => !blocked)).toHaveLength(10);
  });

  it('with a block duration, blocks past the limit until the block ends, then counts afresh', async () => {
    for (let i = 0; i < 3; i++) await hit('key:a', 5_000);
    expect(await hit('key:a', 5_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 5 });
    now += 4_000;
    expect(await hit('key:a', 5_000)).toMatchObject({ isBlocked: true, timeToBlockExpire: 1 });
    now += 1_000;
    expect(await hit('key:a', 5_000)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('peeks without counting: seconds until a key over its limit (or blocked) may pass, else 0', async () => {
    expect(storage.peek('key:a', 3, 'default')).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(storage.peek('key:a', 3, 'default')).toBe(0);
      expect(storage.hit('key:a', 60_000, 3, 0, 'default')).toMatchObject({ totalHits: i + 1 });
    }
    now += 20_000;
    expect(storage.peek('key:a', 3, 'default')).toBe(40);
    expect(storage.peek('key:a', 4, 'default')).toBe(0);
    now += 40_000;
    expect(storage.peek('key:a', 3, 'default')).toBe(0);
    for (let i = 0; i < 4; i++) await hit('key:b', 5_000);
    expect(storage.peek('key:b', 3, 'default')).toBe(5);
    now += 5_000;
    expect(storage.peek('key:b', 3, 'default')).toBe(0);
  });

  it('keeps one counter a key, however many hits (the default storage keeps one entry a hit)', async () => {
    for (let i = 0; i < 200_000; i++) await storage.increment('k', 60_000, 1e9, 0, 'default');
    expect((await storage.increment('k', 60_000, 1e9, 0, 'default')).totalHits).toBe(200_001);
  });
});
