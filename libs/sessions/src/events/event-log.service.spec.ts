import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionEvent } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS, SessionsModuleOptions } from '../sessions.options';
import { SessionStore } from '../store/session-store';
import { EventLog } from './event-log.service';
import { LaggedError } from './lagged.error';

/** A small deterministic PRNG (mulberry32), so a failing run can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('EventLog (real SQLite store)', () => {
  let dir: string;
  let store: SessionStore;
  let log: EventLog;
  let options: SessionsModuleOptions;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-log-'));
    options = {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: `sqlite:${join(dir, 'test.db')}`,
      workspaceRoot: join(dir, 'ws'),
    };
    store = new SessionStore(options);
    await store.onModuleInit();
    log = new EventLog(store, options);
  });

  afterEach(async () => {
    await store.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  async function drain(stream: AsyncGenerator<SessionEvent[]>): Promise<number[]> {
    const seqs: number[] = [];
    for await (const batch of stream) seqs.push(...batch.map((e) => e.seq));
    return seqs;
  }

  it('committed() waits for every event appended to the session so far, not awaited by the caller', async () => {
    await log.open('s1');
    await log.open('s2');
    await expect(log.committed('s1')).resolves.toBeUndefined();
    for (let i = 0; i < 5; i++) void log.append('s1', { type: 'assistant', text: `p${i}` });
    expect(await store.lastSeq('s1')).toBe(0);
    await log.committed('s1');
    expect(await store.lastSeq('s1')).toBe(5);
    // Another session's tail is its own.
    await expect(log.committed('s2')).resolves.toBeUndefined();
  });

  it('assigns seq from 1 and commits before resolving', async () => {
    await log.open('s1');
    const first = await log.append('s1', { type: 'assistant', text: 'a' });
    const second = await log.append('s1', { type: 'assistant', text: 'b' });
    expect([first.seq, second.seq]).toEqual([1, 2]);
    const stored = await store.readEvents('s1', 0, 10);
    expect(stored).toEqual([first, second]);
  });

  it('continues from the last stored seq after a restart', async () => {
    await log.open('s1');
    await log.append('s1', { type: 'assistant', text: 'a' });
    const restarted = new EventLog(store, options);
    await restarted.open('s1');
    expect((await restarted.append('s1', { type: 'assistant', text: 'b' })).seq).toBe(2);
  });

  it.each([1, 2, 3, 4, 5])(
    'replay-then-live under concurrent appends: no gap, no duplicate (seed %i)',
    async (seed) => {
      const random = prng(seed);
      const total = 3000;
      await log.open('s');
      let ended = false;
      const subscribers: Array<Promise<{ after: number; seqs: number[] }>> = [];
      const appending = (async () => {
        let appended = 0;
        while (appended < total) {
          const burst = 1 + Math.floor(random() * 200);
          for (let i = 0; i < burst && appended < total; i++, appended++) {
            void log.append('s', { type: 'assistant', text: `e${appended}` });
          }
          // Subscribers join at random points, from random places in the log.
          if (random() < 0.5) {
            const after = Math.floor(random() * appended);
            subscribers.push(
              drain(log.subscribe('s', after, async () => ended)).then((seqs) => ({ after, seqs })),
            );
          }
          await pause(random() < 0.5 ? 0 : 3);
        }
        await log.flush();
        ended = true;
        await log.close('s');
      })();
      await appending;
      const results = await Promise.all(subscribers);
      expect(results.length).toBeGreaterThan(3);
      for (const { after, seqs } of results) {
        expect(seqs).toEqual(Array.from({ length: total - after }, (_, i) => after + i + 1));
      }
    },
  );

  it('a subscriber to an ended session gets the replay and then completes', async () => {
    await log.open('s');
    for (let i = 0; i < 5; i++) void log.append('s', { type: 'assistant', text: String(i) });
    await log.close('s');
    expect(await drain(log.subscribe('s', 2, async () => true))).toEqual([3, 4, 5]);
  });

  it('aborting a subscription ends it at once, even while it waits for events', async () => {
    await log.open('s');
    await log.append('s', { type: 'assistant', text: 'x' });
    const abort = new AbortController();
    const stream = log.subscribe('s', 0, async () => false, abort.signal);
    const seqs: number[] = [];
    const done = (async () => {
      for await (const batch of stream) seqs.push(...batch.map((e) => e.seq));
    })();
    await pause(20);
    abort.abort();
    await expect(
      Promise.race([done.then(() => 'ended'), pause(500).then(() => 'hung')]),
    ).resolves.toBe('ended');
    expect(seqs).toEqual([1]);
  });

  it('a consumer that stops reading gets LaggedError naming the last seq it was given', async () => {
    const small = new EventLog(store, { ...options, subscriberBufferEvents: 100 });
    await small.open('s');
    await small.append('s', { type: 'assistant', text: 'first' });
    const stream = small.subscribe('s', 0, async () => false);
    const first = (await stream.next()).value as SessionEvent[];
    expect(first.map((e) => e.seq)).toEqual([1]);
    // The consumer now stalls while 1,000 events are committed.
    for (let i = 0; i < 1000; i++) void small.append('s', { type: 'assistant', text: String(i) });
    await small.flush();
    await expect(stream.next()).rejects.toEqual(new LaggedError(1));
  });
});
