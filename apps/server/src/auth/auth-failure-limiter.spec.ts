import { ThrottlerStorageService } from '@nestjs/throttler';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { WindowCounterStorage } from './window-counter.storage';

describe('AuthFailureLimiter', () => {
  let now = 1_000_000;
  let storage: WindowCounterStorage;
  let limiter: AuthFailureLimiter;

  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    storage = new WindowCounterStorage();
    limiter = new AuthFailureLimiter(storage, 3, 60_000);
  });

  afterEach(() => {
    storage.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  const fail = (address: string, times = 1) => {
    for (let i = 0; i < times; i++) limiter.recordFailure(address);
  };

  it('refuses an address past `limit` failures until its window ends; asking counts nothing', () => {
    fail('203.0.113.7', 2);
    for (let i = 0; i < 10; i++) expect(limiter.refusal('203.0.113.7')).toBeUndefined();
    fail('203.0.113.7');
    now += 15_000;
    const refused = limiter.refusal('203.0.113.7');
    expect(refused).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: 45,
      message:
        'Too many failed authentications from this address: at most 3 per 60 s; retry in 45 s',
    });
    // Other addresses are not held back.
    expect(limiter.refusal('203.0.113.8')).toBeUndefined();
    now += 45_000;
    expect(limiter.refusal('203.0.113.7')).toBeUndefined();
  });

  it('takes an IPv4-mapped address as IPv4, and an IPv6 /64 as one address', () => {
    fail('::ffff:198.51.100.1', 3);
    expect(limiter.refusal('198.51.100.1')).toBeDefined();
    fail('2001:db8:1:2::1');
    fail('2001:db8:1:2:aaaa::9');
    fail('2001:db8:1:2:ffff:ffff:ffff:ffff');
    expect(limiter.refusal('2001:db8:1:2::77')).toBeDefined();
    expect(limiter.refusal('2001:db8:1:3::1')).toBeUndefined();
  });

  it('needs the storage that can answer without counting', () => {
    const other = new ThrottlerStorageService();
    try {
      expect(() => new AuthFailureLimiter(other, 3, 60_000)).toThrow(/WindowCounterStorage/);
    } finally {
      other.onApplicationShutdown();
    }
  });
});
