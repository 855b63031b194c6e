import { Logger } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { WsAck } from '@jelmore/contracts';
import { WindowCounterStorage } from '../auth/window-counter.storage';
import { EventAdmission, WsRateLimiter } from './ws-rate-limit';

/** What one event did: ran (the handler would be called), refused with an ack, or refused silently. */
type Outcome = 'run' | WsAck | 'dropped';

/** Sends one `session:input` through `admit`, as the dispatcher does. */
async function send(admit: EventAdmission, withAck = true): Promise<Outcome> {
  let answer: WsAck | undefined;
  const args: unknown[] = [{ sessionId: 'x', text: 'y' }];
  if (withAck) args.push((a: WsAck) => (answer = a));
  const verdict = await admit(args);
  if (verdict) return 'run';
  return answer ?? 'dropped';
}

describe('WsRateLimiter', () => {
  beforeAll(() => Logger.overrideLogger(false));

  afterEach(() => jest.useRealTimers());

  describe.each([
    // The app's storage answers at once; any other ThrottlerStorage through its promise.
    ['WindowCounterStorage', () => new WindowCounterStorage()],
    ['the throttler’s default storage', () => new ThrottlerStorageService()],
  ])('with %s', (_name, makeStorage) => {
    let storage: WindowCounterStorage | ThrottlerStorageService;

    beforeEach(() => {
      jest.useFakeTimers({ now: 0, doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      storage = makeStorage();
    });

    afterEach(() => storage.onApplicationShutdown());

    it('runs `limit` events per window, answers the rest with RATE_LIMITED, and opens again', async () => {
      const admit = new WsRateLimiter(storage, 3, 10_000).admission('key:alice');
      expect(await send(admit)).toBe('run');
      jest.advanceTimersByTime(4_000);
      expect(await send(admit)).toBe('run');
      expect(await send(admit)).toBe('run');
      expect(await send(admit)).toEqual({
        ok: false,
        error: {
          code: 'RATE_LIMITED',
          message: 'Too many Socket.IO events: at most 3 per 10 s; retry in 6 s',
          retryAfter: 6,
        },
      });
      // Refused events do not count: the window ends 10 s after its first event, not later.
      jest.advanceTimersByTime(6_000);
      expect(await send(admit)).toBe('run');
    });

    it('counts each tracker apart', async () => {
      const limiter = new WsRateLimiter(storage, 1, 10_000);
      expect(await send(limiter.admission('key:alice'))).toBe('run');
      expect(await send(limiter.admission('key:alice'))).toMatchObject({ ok: false });
      expect(await send(limiter.admission('key:bob'))).toBe('run');
    });

    it('refuses an event past the limit that asked for no ack, silently', async () => {
      const admit = new WsRateLimiter(storage, 1, 10_000).admission('socket:s1');
      expect(await send(admit, false)).toBe('run');
      expect(await send(admit, false)).toBe('dropped');
    });
  });

  it('cuts a burst to `burst` events, then lets the per-window rate through evenly', () => {
    jest.useFakeTimers({ now: 0 });
    const storage = new WindowCounterStorage();
    try {
      // 600 a minute is one every 100 ms; 5 at once.
      const admit = new WsRateLimiter(storage, 600, 60_000, 5).admission('key:a');
      const acks: WsAck[] = [];
      const outcomes = Array.from({ length: 100 }, () => admit([(a: WsAck) => acks.push(a)]));
      expect(outcomes.filter(Boolean)).toHaveLength(5);
      expect(acks[0]).toEqual({
        ok: false,
        error: {
          code: 'RATE_LIMITED',
          message: 'Too many Socket.IO events: at most 5 per 0.5 s; retry in 1 s',
          retryAfter: 1,
        },
      });
      jest.advanceTimersByTime(100);
      expect(admit([])).toBe(true);
      expect(admit([])).toBe(false);
    } finally {
      storage.onApplicationShutdown();
      jest.useRealTimers();
    }
  });

  it('answers at once with the app’s storage: no promise per event', () => {
    const storage = new WindowCounterStorage();
    try {
      const admit = new WsRateLimiter(storage, 1, 10_000).admission('key:a');
      expect(admit([])).toBe(true);
      expect(admit([() => undefined])).toBe(false);
    } finally {
      storage.onApplicationShutdown();
    }
  });

  it('lets events through when its store fails', async () => {
    const broken: ThrottlerStorage = { increment: () => Promise.reject(new Error('down')) };
    expect(await send(new WsRateLimiter(broken, 1, 10_000).admission('key:a'))).toBe('run');
  });
});
