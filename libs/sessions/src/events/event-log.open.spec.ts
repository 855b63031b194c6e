import type { SessionEvent } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS } from '../sessions.options';
import type { EventStore } from '../store/event-store';
import { EventLog } from './event-log.service';

/** A store whose last seq is 7 for every session; counts how often it is asked. */
class CountingStore {
  lastSeqReads = 0;

  async lastSeq(): Promise<number> {
    this.lastSeqReads++;
    return 7;
  }

  async appendEvents(): Promise<void> {}
}

describe('EventLog.open', () => {
  let store: CountingStore;
  let log: EventLog;

  beforeEach(() => {
    store = new CountingStore();
    log = new EventLog(store as unknown as EventStore, {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: 'postgres://unused',
      workspaceRoot: '/unused',
    });
  });

  const seqOfNext = (id: string): Promise<number> =>
    log.append(id, { type: 'assistant', text: 'x' }).then((e: SessionEvent) => e.seq);

  it('starts a fresh session at seq 1 without reading the store', async () => {
    await log.open('new', undefined, { fresh: true });
    expect(store.lastSeqReads).toBe(0);
    expect(await seqOfNext('new')).toBe(1);
  });

  it('continues a session that has events (resume, recovery, fork) from the store', async () => {
    await log.open('old');
    expect(store.lastSeqReads).toBe(1);
    expect(await seqOfNext('old')).toBe(8);
  });

  it('keeps the seq of a log already open, fresh or not', async () => {
    await log.open('s');
    await seqOfNext('s');
    await log.open('s', undefined, { fresh: true });
    expect(await seqOfNext('s')).toBe(9);
    expect(store.lastSeqReads).toBe(1);
  });
});
