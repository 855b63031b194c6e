import { Logger } from '@nestjs/common';
import type { SessionEvent } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS, SessionsModuleOptions } from '../sessions.options';
import type { EventStore } from '../store/event-store';
import { EventLog } from './event-log.service';

/**
 * A store whose commits end when the test says, as PostgreSQL's take milliseconds: what each commit
 * wrote, and the events it holds once committed (what a replay reads).
 */
class ControlledStore {
  readonly commits: number[][] = [];
  readonly stored: SessionEvent[] = [];
  private readonly open: Array<{ events: SessionEvent[]; done: () => void }> = [];

  appendEvents(events: SessionEvent[]): Promise<void> {
    this.commits.push(events.map((e) => e.seq));
    return new Promise((done) => this.open.push({ events, done }));
  }

  async readEvents(sessionId: string, after: number, limit: number): Promise<SessionEvent[]> {
    return this.stored.filter((e) => e.sessionId === sessionId && e.seq > after).slice(0, limit);
  }

  async lastSeq(): Promise<number> {
    return 0;
  }

  /** Ends the oldest commit in flight and lets what follows from it run. */
  async end(): Promise<void> {
    const commit = this.open.shift();
    if (!commit) throw new Error('no commit in flight');
    this.stored.push(...commit.events);
    commit.done();
    await settled();
  }
}

/** Lets every pending promise callback run; no timer (they are fake) fires. */
const settled = () =>
  new Promise<void>((resolve) => jest.requireActual('timers').setImmediate(resolve));

describe('EventLog group commit', () => {
  let store: ControlledStore;
  let log: EventLog;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    store = new ControlledStore();
    const options: SessionsModuleOptions = {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: 'postgres://unused',
      workspaceRoot: '/unused',
    };
    log = new EventLog(store as unknown as EventStore, options);
    await log.open('s');
  });

  afterEach(() => jest.useRealTimers());

  /** Seqs as the subscriber got them, batch by batch. */
  async function subscribe(): Promise<number[][]> {
    const batches: number[][] = [];
    log.follow('s', 0, async () => false, {
      next: (batch) => void batches.push(batch.map((e) => e.seq)),
      complete: () => batches.push([-1]),
      error: (err) => {
        throw err;
      },
    });
    await settled(); // The (empty) replay.
    return batches;
  }

  it('one event on an idle log commits on the next turn, with no timer, and only then is delivered', async () => {
    const delivered = await subscribe();
    let appended: SessionEvent | undefined;
    void log.append('s', { type: 'assistant', text: 'a' }).then((e) => (appended = e));
    jest.advanceTimersByTime(0);
    expect(store.commits).toEqual([[1]]);
    await settled();
    expect([delivered, appended]).toEqual([[], undefined]);
    await store.end();
    expect(delivered).toEqual([[1]]);
    expect(appended?.seq).toBe(1);
  });

  it('events appended while a commit is in flight go in the next batch, on the turn it ends', async () => {
    const delivered = await subscribe();
    log.write('s', { type: 'assistant', text: 'a' });
    jest.advanceTimersByTime(0);
    for (const text of ['b', 'c', 'd']) log.write('s', { type: 'assistant', text });
    jest.advanceTimersByTime(100);
    let allCommitted = false;
    void log.committed('s').then(() => (allCommitted = true));
    expect(store.commits).toEqual([[1]]);
    await store.end();
    jest.advanceTimersByTime(0);
    expect(store.commits).toEqual([[1], [2, 3, 4]]);
    expect([delivered, allCommitted]).toEqual([[[1]], false]);
    await store.end();
    expect([delivered, allCommitted]).toEqual([[[1], [2, 3, 4]], true]);
  });

  it('close() while a commit is in flight ends the stream after every event before it', async () => {
    const delivered = await subscribe();
    log.write('s', { type: 'assistant', text: 'a' });
    jest.advanceTimersByTime(0);
    log.write('s', { type: 'assistant', text: 'b' });
    const closed = log.close('s');
    await store.end();
    await store.end();
    await closed;
    await settled();
    expect(delivered).toEqual([[1], [2], [-1]]);
  });

  it('a callback that throws is logged; its batch still settles and the log goes on', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    log.write('s', { type: 'assistant', text: 'a' }, () => {
      throw new Error('bug');
    });
    const committed = log.committed('s');
    await Promise.all([log.flush(), store.end()]);
    await expect(committed).resolves.toBeUndefined();
    expect(logged).toHaveBeenCalledWith(expect.stringContaining('bug'));
    const next = log.append('s', { type: 'assistant', text: 'b' });
    jest.advanceTimersByTime(0);
    await store.end();
    expect((await next).seq).toBe(2);
    logged.mockRestore();
  });
});
