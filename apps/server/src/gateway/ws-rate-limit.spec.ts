import { Logger } from '@nestjs/common';
import { ThrottlerStorage, ThrottlerStorageService } from '@nestjs/throttler';
import type { Event } from 'socket.io';
import type { WsAck } from '@jelmore/contracts';
import { WsRateLimiter } from './ws-rate-limit';

/** What one event did: passed to the handlers, answered with an ack, or neither. */
type Outcome = 'next' | WsAck | 'dropped';

async function send(
  middleware: (event: Event, next: (err?: Error) => void) => void,
  withAck = true,
): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const event: Event = ['session:input', { sessionId: 'x', text: 'y' }];
    if (withAck) event.push((answer: WsAck) => resolve(answer));
    middleware(event, () => resolve('next'));
    // Neither callback comes for a dropped event without an ack.
    setImmediate(() => resolve('dropped'));
  });
}

describe('WsRateLimiter', () => {
  let storage: ThrottlerStorageService;

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    jest.useFakeTimers({ now: 0, doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    storage = new ThrottlerStorageService();
  });

  afterEach(() => {
    storage.onApplicationShutdown();
    jest.useRealTimers();
  });

  it('passes `limit` events per window, answers the rest with RATE_LIMITED, and slides', async () => {
    const use = new WsRateLimiter(storage, 3, 10_000).middleware('key:alice');
    expect(await send(use)).toBe('next');
    jest.advanceTimersByTime(4_000);
    expect(await send(use)).toBe('next');
    expect(await send(use)).toBe('next');
    expect(await send(use)).toEqual({
      ok: false,
      error: {
        code: 'RATE_LIMITED',
        message: 'Too many Socket.IO events: at most 3 per 10 s; retry in 6 s',
        retryAfter: 6,
      },
    });
    // Refused events do not count: the first slot frees 10 s after the first event, not later.
    jest.advanceTimersByTime(6_000);
    expect(await send(use)).toBe('next');
    expect(await send(use)).toMatchObject({ ok: false, error: { retryAfter: 4 } });
  });

  it('counts each tracker apart', async () => {
    const limiter = new WsRateLimiter(storage, 1, 10_000);
    const alice = limiter.middleware('key:alice');
    const aliceAgain = limiter.middleware('key:alice');
    expect(await send(alice)).toBe('next');
    expect(await send(aliceAgain)).toMatchObject({ ok: false });
    expect(await send(limiter.middleware('key:bob'))).toBe('next');
  });

  it('drops an event past the limit that asked for no ack', async () => {
    const use = new WsRateLimiter(storage, 1, 10_000).middleware('socket:s1');
    expect(await send(use, false)).toBe('next');
    expect(await send(use, false)).toBe('dropped');
  });

  it('lets events through when its store fails', async () => {
    const broken: ThrottlerStorage = { increment: () => Promise.reject(new Error('down')) };
    expect(await send(new WsRateLimiter(broken, 1, 10_000).middleware('key:a'))).toBe('next');
  });
});
