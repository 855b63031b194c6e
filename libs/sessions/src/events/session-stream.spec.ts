import { firstValueFrom, Observable, tap, toArray } from 'rxjs';
import type { SessionEvent } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS, SessionsModuleOptions } from '../sessions.options';
import { EventStore } from '../store/event-store';
import { StoreConnection } from '../store/store-connection';
import { EventLog } from './event-log.service';
import { LaggedError } from './lagged.error';
import { committedBatches, StreamOptions } from './session-stream';

const seqsOf = (batches: SessionEvent[][]) => batches.flat().map((e) => e.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('committedBatches: the log as an Observable (real SQLite store, in memory)', () => {
  let connection: StoreConnection;
  let store: EventStore;
  let options: SessionsModuleOptions;
  let log: EventLog;
  let ended: boolean;

  const stream = (after: number, streamOptions?: StreamOptions, eventLog = log) =>
    committedBatches((sink) => eventLog.follow('s', after, async () => ended, sink), streamOptions);
  const append = (n: number, eventLog = log) => {
    for (let i = 0; i < n; i++) void eventLog.append('s', { type: 'assistant', text: String(i) });
  };
  const listeners = () =>
    (log as unknown as { subscriptions: Map<string, Set<unknown>> }).subscriptions.get('s')?.size ??
    0;

  beforeEach(async () => {
    options = { ...DEFAULT_SESSIONS_OPTIONS, databaseUrl: 'sqlite::memory:', workspaceRoot: '.' };
    connection = new StoreConnection(options);
    await connection.onModuleInit();
    store = new EventStore(connection);
    log = new EventLog(store, options);
    ended = false;
    await log.open('s');
  });

  afterEach(() => connection.onApplicationShutdown());

  it('replays after `after`, then live batches, with no gap and no duplicate, and completes at the end', async () => {
    append(700);
    await log.flush();
    const subscribers: Array<Promise<{ after: number; seqs: number[] }>> = [];
    for (let round = 0; round < 20; round++) {
      const after = round * 60;
      subscribers.push(
        firstValueFrom(stream(after).pipe(toArray())).then((b) => ({ after, seqs: seqsOf(b) })),
      );
      // Subscribers join while the log commits: some replay what others get live.
      append(50);
      if (round % 3 === 0) await log.flush();
    }
    await log.flush();
    ended = true;
    await log.close('s');
    for (const { after, seqs } of await Promise.all(subscribers)) {
      expect(seqs).toEqual(range(after + 1, 1700));
    }
    expect(listeners()).toBe(0);
  });

  it('pushes a live batch to its subscriber within the commit: no promise or hop per batch', async () => {
    const delivered: number[] = [];
    let first!: () => void;
    const replayed = new Promise<void>((resolve) => (first = resolve));
    stream(0).subscribe((batch) => {
      delivered.push(...batch.map((e) => e.seq));
      first();
    });
    await log.append('s', { type: 'assistant', text: 'replay is over once this arrives' });
    await replayed;
    let seenAtCommit: number[] = [];
    await log.append('s', { type: 'assistant', text: 'live' }).then(() => {
      seenAtCommit = [...delivered];
    });
    expect(seenAtCommit).toEqual([1, 2]);
  });

  it('unsubscribing tears it down: the log stops delivering to it and its backpressure wait is aborted', async () => {
    let signal: AbortSignal | undefined;
    const seqs: number[] = [];
    let first!: () => void;
    const arrived = new Promise<void>((resolve) => (first = resolve));
    const subscription = stream(0, {
      backpressure: (s) => {
        signal = s;
        return new Promise(() => undefined); // Full until torn down.
      },
    }).subscribe({
      next: (batch) => {
        seqs.push(...batch.map((e) => e.seq));
        first();
      },
      error: () => seqs.push(-1),
      complete: () => seqs.push(-2),
    });
    await log.append('s', { type: 'assistant', text: 'x' });
    await arrived;
    expect(signal?.aborted).toBe(false);
    expect(listeners()).toBe(1);
    subscription.unsubscribe();
    expect(signal?.aborted).toBe(true);
    expect(listeners()).toBe(0);
    // A subscriber that stays gets everything that follows: by then the other one would have had it.
    const witness = firstValueFrom(stream(1).pipe(toArray()));
    append(5);
    await log.flush();
    ended = true;
    await log.close('s');
    expect(seqsOf(await witness)).toEqual([2, 3, 4, 5, 6]);
    expect(seqs).toEqual([1]);
  });

  it('a consumer held back gets the rest in order once it takes more', async () => {
    let release!: () => void;
    let held = false;
    const batches: number[][] = [];
    let first!: () => void;
    const firstArrived = new Promise<void>((resolve) => (first = resolve));
    const done = new Promise<void>((resolve, reject) =>
      stream(0, {
        backpressure: () => {
          if (held) return undefined;
          held = true;
          return new Promise<void>((r) => (release = r));
        },
      }).subscribe({
        next: (batch) => {
          batches.push(batch.map((e) => e.seq));
          first();
        },
        error: reject,
        complete: resolve,
      }),
    );
    await log.append('s', { type: 'assistant', text: 'first' });
    await firstArrived;
    append(50);
    // Committed, and so handed to the subscription: it waits in its buffer.
    await log.flush();
    expect(batches).toEqual([[1]]);
    release();
    ended = true;
    await log.close('s');
    await done;
    expect(batches.flat()).toEqual(range(1, 51));
  });

  it('a consumer that never takes more is told it lagged, with the last seq it was given', async () => {
    const small = new EventLog(store, { ...options, subscriberBufferEvents: 100 });
    await small.open('s');
    await small.append('s', { type: 'assistant', text: 'first' });
    const given: number[] = [];
    const never = () => new Promise(() => undefined);
    const outcome = firstValueFrom(
      stream(0, { backpressure: never }, small).pipe(
        // While it holds the first batch, the log commits far more than its buffer.
        tap((batch) => {
          given.push(...batch.map((e) => e.seq));
          append(1000, small);
        }),
        toArray(),
      ),
    );
    await expect(outcome).rejects.toEqual(new LaggedError(1));
    expect(given).toEqual([1]);
  });

  it('is cold: nothing is followed until subscribed, and each subscription follows on its own', async () => {
    const batches: Observable<SessionEvent[]> = stream(0);
    append(3);
    await log.flush();
    expect(listeners()).toBe(0);
    const a = firstValueFrom(batches.pipe(toArray()));
    const b = firstValueFrom(batches.pipe(toArray()));
    expect(listeners()).toBe(2);
    ended = true;
    await log.close('s');
    expect(seqsOf(await a)).toEqual([1, 2, 3]);
    expect(seqsOf(await b)).toEqual([1, 2, 3]);
  });
});
