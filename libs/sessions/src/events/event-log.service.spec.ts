import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionEvent } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS, SessionsModuleOptions } from '../sessions.options';
import { EventStore } from '../store/event-store';
import { StoreConnection } from '../store/store-connection';
import type { SessionRecord } from '../store/session-record';
import { CommittedBatch, EventLog } from './event-log.service';
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

/** Paces the fuzz's appends only: no assertion waits on the clock. */
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fires once, on the event a test waits for (a batch delivered), instead of a pause. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => (fire = r));
  return { promise, fire };
}

describe('EventLog (real SQLite store)', () => {
  let dir: string;
  let connection: StoreConnection;
  let store: EventStore;
  let log: EventLog;
  let options: SessionsModuleOptions;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-log-'));
    options = {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: `sqlite:${join(dir, 'test.db')}`,
      workspaceRoot: join(dir, 'ws'),
    };
    connection = new StoreConnection(options);
    await connection.onModuleInit();
    store = new EventStore(connection);
    log = new EventLog(store, options);
  });

  afterEach(async () => {
    await connection.onApplicationShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Follows the session to its end; resolves with every seq delivered, in delivery order. */
  function drain(eventLog: EventLog, after: number, isEnded: () => Promise<boolean>) {
    return new Promise<number[]>((resolve, reject) => {
      const seqs: number[] = [];
      eventLog.follow('s', after, isEnded, {
        next: (batch) => void seqs.push(...batch.map((e) => e.seq)),
        complete: () => resolve(seqs),
        error: reject,
      });
    });
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

  it('fans each commit out once per session: subscribers first, then observers, with the record', async () => {
    const record = { id: 's1', provider: 'scripted' } as SessionRecord;
    await log.open('s1', record);
    await log.open('s2');
    const seen: string[] = [];
    let replayed!: () => void;
    const ready = new Promise<void>((resolve) => (replayed = resolve));
    log.follow('s1', 0, async () => false, {
      next: (batch) => {
        seen.push(`subscriber ${batch.map((e) => e.seq).join(',')}`);
        replayed();
      },
      complete: () => undefined,
      error: () => undefined,
    });
    await log.append('s1', { type: 'assistant', text: 'once it arrives, the replay is over' });
    await ready;
    const batches: CommittedBatch[] = [];
    log.committed$.subscribe((committed) => {
      batches.push(committed);
      if (committed.sessionId === 's1') seen.push('observer');
    });
    for (let i = 0; i < 3; i++) void log.append('s1', { type: 'assistant', text: String(i) });
    void log.append('s2', { type: 'assistant', text: 'other' });
    await log.flush();
    await log.close('s1');
    await log.release('s2');
    const summary = batches.map((b) => [
      b.sessionId,
      b.record,
      b.batch === 'end' ? 'end' : b.batch.length,
    ]);
    expect(summary).toEqual([
      ['s1', record, 3],
      ['s2', undefined, 1],
      ['s1', record, 'end'],
    ]);
    expect(seen.slice(0, 3)).toEqual(['subscriber 1', 'subscriber 2,3,4', 'observer']);
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
              drain(log, after, async () => ended).then((seqs) => ({ after, seqs })),
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
    expect(await drain(log, 2, async () => true)).toEqual([3, 4, 5]);
  });

  it('a closed subscription gets nothing more, and no longer listens', async () => {
    await log.open('s');
    await log.append('s', { type: 'assistant', text: 'x' });
    const seqs: number[] = [];
    const outcome: string[] = [];
    const replayed = signal();
    const subscription = log.follow('s', 0, async () => false, {
      next: (batch) => {
        seqs.push(...batch.map((e) => e.seq));
        replayed.fire();
      },
      complete: () => outcome.push('complete'),
      error: () => outcome.push('error'),
    });
    await replayed.promise;
    subscription.close();
    // A witness that stays: once it has 'y' and the end, both were delivered to every subscriber.
    const witness = drain(log, 0, async () => false);
    await log.append('s', { type: 'assistant', text: 'y' });
    await log.close('s');
    expect(await witness).toEqual([1, 2]);
    expect(seqs).toEqual([1]);
    expect(outcome).toEqual([]);
    expect((log as unknown as { subscriptions: Map<string, unknown> }).subscriptions.size).toBe(0);
  });

  it('live batches reach a ready sink as they commit, without waiting on the event loop', async () => {
    await log.open('s');
    await log.append('s', { type: 'assistant', text: 'before' });
    const delivered: number[] = [];
    const replayed = signal();
    log.follow('s', 0, async () => false, {
      next: (batch) => {
        delivered.push(...batch.map((e) => e.seq));
        replayed.fire();
      },
      complete: () => undefined,
      error: () => undefined,
    });
    // The replay's last page is out; what is left of it (no I/O) ends within this turn of the loop.
    await replayed.promise;
    await new Promise((r) => setImmediate(r));
    let seenAtCommit: number[] = [];
    const committed = log.append('s', { type: 'assistant', text: 'now' }).then(() => {
      seenAtCommit = [...delivered];
    });
    await committed;
    expect(seenAtCommit).toEqual([1, 2]);
  });

  it('a full sink holds the stream back and gets the rest, in order, once it drains', async () => {
    await log.open('s');
    const seqs: number[] = [];
    let drained!: () => void;
    let fullOnce = true;
    const done = new Promise<void>((resolve, reject) =>
      log.follow('s', 0, async () => false, {
        next: (batch) => {
          seqs.push(...batch.map((e) => e.seq));
          if (!fullOnce) return undefined;
          fullOnce = false;
          return new Promise<void>((r) => (drained = r));
        },
        complete: resolve,
        error: reject,
      }),
    );
    await log.append('s', { type: 'assistant', text: 'first' });
    // A witness whose sink never fills: once it has all 51, every subscriber was offered them.
    const witness: number[] = [];
    const offered = signal();
    log.follow('s', 0, async () => false, {
      next: (batch) => {
        witness.push(...batch.map((e) => e.seq));
        if (witness.length === 51) offered.fire();
      },
      complete: () => undefined,
      error: () => undefined,
    });
    for (let i = 0; i < 50; i++) void log.append('s', { type: 'assistant', text: String(i) });
    await log.flush();
    await offered.promise;
    expect(seqs).toEqual([1]);
    drained();
    await log.close('s');
    await done;
    expect(seqs).toEqual(Array.from({ length: 51 }, (_, i) => i + 1));
  });

  it('a sink that stays full gets LaggedError naming the last seq it was given', async () => {
    const small = new EventLog(store, { ...options, subscriberBufferEvents: 100 });
    await small.open('s');
    await small.append('s', { type: 'assistant', text: 'first' });
    const given: number[] = [];
    const replayed = signal();
    const failed = new Promise<unknown>((resolve) =>
      small.follow('s', 0, async () => false, {
        next: (batch) => {
          given.push(...batch.map((e) => e.seq));
          replayed.fire();
          return new Promise(() => undefined); // Never drains.
        },
        complete: () => resolve('complete'),
        error: resolve,
      }),
    );
    await replayed.promise;
    expect(given).toEqual([1]);
    for (let i = 0; i < 1000; i++) void small.append('s', { type: 'assistant', text: String(i) });
    await small.flush();
    await expect(failed).resolves.toEqual(new LaggedError(1));
    expect(given).toEqual([1]);
  });

  it("fills the gaps in another node's relayed batches from the store, and drops copies", async () => {
    // `owner` commits the session's events; `log` only hears of them as a cluster relay delivers them.
    const owner = new EventLog(store, options);
    await owner.open('s');
    const appended = async (n: number) => {
      const events: SessionEvent[] = [];
      for (let i = 0; i < n; i++)
        events.push(await owner.append('s', { type: 'assistant', text: '' }));
      return events;
    };
    await appended(3);
    const batches: number[][] = [];
    const replayed = signal();
    const done = new Promise<void>((resolve, reject) =>
      log.follow('s', 0, async () => false, {
        next: (batch) => {
          batches.push(batch.map((e) => e.seq));
          replayed.fire();
        },
        complete: resolve,
        error: reject,
      }),
    );
    await replayed.promise;
    const later = await appended(6); // seqs 4..9
    log.deliver('s', [later[2]]); // 6: 4 and 5 were lost
    log.deliver('s', later.slice(0, 2)); // 4, 5 late: copies
    log.deliver('s', [later[4]]); // 8: 7 lost
    log.deliver('s', 'end'); // before 9, which never comes
    await done;
    expect(batches.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(batches).toEqual([[1, 2, 3], [4, 5], [6], [7], [8], [9]]);
  });
});
