import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { of } from 'rxjs';
import type { Socket } from 'socket.io';
import type { WsAck } from '@jelmore/contracts';
import { WindowCounterStorage } from '../auth/window-counter.storage';
import { ConfiguredIoAdapter } from './configured-io.adapter';
import { WsRateLimiter } from './ws-rate-limit';

/** The part of a socket the dispatcher uses: its `onAny` listener, and what it emits. */
class FakeSocket {
  readonly emitted: Array<[string, unknown]> = [];
  private listener?: (message: string, ...args: unknown[]) => void;

  onAny(listener: (message: string, ...args: unknown[]) => void): this {
    this.listener = listener;
    return this;
  }

  emit(event: string, data: unknown): boolean {
    this.emitted.push([event, data]);
    return true;
  }

  /** A client event, as socket.io hands it to `onAny`; resolves with its ack. */
  send(message: string, payload: unknown): Promise<WsAck> {
    return new Promise((resolve) => this.listener!(message, payload, resolve));
  }

  /** A client event without an ack. */
  fire(message: string, payload: unknown): void {
    this.listener!(message, payload);
  }
}

describe('ConfiguredIoAdapter dispatcher', () => {
  let storage: WindowCounterStorage;
  let adapter: ConfiguredIoAdapter;
  /** Payloads each handler ran with. */
  let ran: unknown[];
  let handlers: MessageMappingProperties[];

  beforeAll(() => Logger.overrideLogger(false));

  beforeEach(() => {
    storage = new WindowCounterStorage();
    adapter = new ConfiguredIoAdapter(undefined as unknown as INestApplicationContext, [], 1024);
    ran = [];
    handlers = [
      {
        message: 'work',
        methodName: 'work',
        isAckHandledManually: false,
        callback: async (data: unknown) => {
          ran.push(data);
          return { ok: true, done: data };
        },
      },
      {
        message: 'notify',
        methodName: 'notify',
        isAckHandledManually: false,
        callback: () => of({ event: 'notified', data: 1 }) as never,
      },
    ];
  });

  afterEach(() => storage.onApplicationShutdown());

  function bind(limit?: { storage: ThrottlerStorage; limit: number }): FakeSocket {
    const socket = new FakeSocket();
    if (limit) {
      new WsRateLimiter(limit.storage, limit.limit, 60_000).attach(
        socket as unknown as Socket,
        'key:a',
      );
    }
    adapter.bindMessageHandlers(socket as unknown as Socket, handlers, (d) => of(d));
    return socket;
  }

  it('runs the handler and acks with its result, or emits its `{ event, data }`', async () => {
    const socket = bind({ storage, limit: 10 });
    expect(await socket.send('work', 1)).toEqual({ ok: true, done: 1 });
    socket.fire('notify', {});
    await new Promise(setImmediate);
    expect(socket.emitted).toEqual([['notified', 1]]);
  });

  it('never runs an event past the rate limit: it gets RATE_LIMITED instead', async () => {
    const socket = bind({ storage, limit: 2 });
    const acks = await Promise.all([1, 2, 3, 4].map((n) => socket.send('work', n)));
    expect(acks.map((a) => (a.ok ? 'ok' : a.error.code))).toEqual([
      'ok',
      'ok',
      'RATE_LIMITED',
      'RATE_LIMITED',
    ]);
    expect(acks[3]).toMatchObject({ ok: false, error: { retryAfter: 60 } });
    // Events without an ack are refused as well, silently.
    socket.fire('work', 5);
    expect(ran).toEqual([1, 2]);
  });

  it('holds with a storage that answers through a promise, in arrival order', async () => {
    const slow: ThrottlerStorage = {
      increment: (...args) => Promise.resolve(storage.hit(...args)),
    };
    const socket = bind({ storage: slow, limit: 2 });
    const acks = await Promise.all([1, 2, 3].map((n) => socket.send('work', n)));
    expect(acks.map((a) => a.ok)).toEqual([true, true, false]);
    expect(ran).toEqual([1, 2]);
  });

  it("starts one handler per turn of the event loop: each socket's in order, sockets taking turns", async () => {
    const [a, b] = [bind({ storage, limit: 10 }), bind()];
    const acks = ['a1', 'a2', 'a3'].map((n) => a.send('work', n));
    acks.push(...['b1', 'b2'].map((n) => b.send('work', n)));
    // Admitted at once (the limiter counted them), started later.
    expect(ran).toEqual([]);
    const turns: unknown[][] = [];
    for (let turn = 0; turn < 5; turn++) {
      // An immediate queued now runs after the one the dispatcher queued for this turn.
      await new Promise(setImmediate);
      turns.push([...ran]);
    }
    expect(turns).toEqual([
      ['a1'],
      ['a1', 'b1'],
      ['a1', 'b1', 'a2'],
      ['a1', 'b1', 'a2', 'b2'],
      ['a1', 'b1', 'a2', 'b2', 'a3'],
    ]);
    expect(await Promise.all(acks)).toEqual(
      ['a1', 'a2', 'a3', 'b1', 'b2'].map((done) => ({ ok: true, done })),
    );
  });

  it('lets the loop serve what became ready between two handlers that never yield on their own', async () => {
    const order: string[] = [];
    let secondRan!: () => void;
    const second = new Promise<void>((resolve) => (secondRan = resolve));
    handlers[0].callback = (data: unknown) => {
      order.push(String(data));
      if (data === 'second') secondRan();
      if (data === 'first') {
        // Stands for a probe's request arriving while the first runs: a callback due before it ends.
        setTimeout(() => order.push('timer'), 0);
        const until = Date.now() + 3;
        while (Date.now() < until);
      }
      // What a store that answers synchronously looks like: the handler's work ends in microtasks.
      return Promise.resolve().then(() => ({ ok: true }));
    };
    const socket = bind();
    socket.fire('work', 'first');
    socket.fire('work', 'second');
    // Waits for the second handler itself, not for a time a loaded machine may overrun.
    await second;
    expect(order).toEqual(['first', 'timer', 'second']);
  });

  it('counts unknown events too, and acks them UNKNOWN_EVENT', async () => {
    const socket = bind({ storage, limit: 1 });
    expect(await socket.send('session:bogus', {})).toEqual({
      ok: false,
      error: {
        code: 'UNKNOWN_EVENT',
        message: "Unknown event 'session:bogus'; the events are work, notify",
      },
    });
    expect(await socket.send('work', 1)).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(ran).toEqual([]);
  });

  it('acks an unknown event without a limiter, and ignores one that wants no ack', async () => {
    const socket = bind();
    const ack = await socket.send('x'.repeat(500), {});
    expect(ack).toMatchObject({ ok: false, error: { code: 'UNKNOWN_EVENT' } });
    // The name is echoed cut short: a client's long name does not come back whole.
    expect(!ack.ok && ack.error.message).toContain(`'${'x'.repeat(64)}'`);
    expect(!ack.ok && ack.error.message).not.toContain('x'.repeat(65));
    expect(() => socket.fire('nothing', {})).not.toThrow();
  });
});
