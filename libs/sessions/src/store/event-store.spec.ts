import type { SessionEvent } from '@jelmore/contracts';
import {
  appendEvents as append,
  assistantEvents as events,
  permissionRequest,
  sessionRecord as record,
  STORE_ADAPTERS,
  tick,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { EventStore } from './event-store';
import { PermissionRequestStore } from './permission-request-store';
import { SessionStore } from './session-store';

describe.each(STORE_ADAPTERS)('EventStore on $adapter', ({ create, duplicate }) => {
  const suite = useStoreDatabase(create);
  let store: EventStore;
  let sessions: SessionStore;
  let requests: PermissionRequestStore;

  beforeAll(() => {
    store = new EventStore(suite.connection);
    sessions = new SessionStore(suite.connection);
    requests = new PermissionRequestStore(suite.connection);
  });

  it('appends batches and reads them back in pages, in seq order', async () => {
    // 2,500 events: more than one INSERT per batch (1,000 rows each).
    const all = events('s1', 1, 2500);
    await append(store, all.slice(0, 1200));
    await append(store, all.slice(1200));
    await append(store, events('other', 1, 3));
    await append(store, []);

    expect(await store.readEvents('s1', 0, 3)).toEqual(all.slice(0, 3));
    expect(await store.readEvents('s1', 1199, 2)).toEqual(all.slice(1199, 1201));
    expect(await store.readEvents('s1', 2498, 10)).toEqual(all.slice(2498));
    expect(await store.readEvents('s1', 2500, 10)).toEqual([]);
    const paged: SessionEvent[] = [];
    for (let after = 0; ;) {
      const page = await store.readEvents('s1', after, 700);
      if (page.length === 0) break;
      paged.push(...page);
      after = page[page.length - 1].seq;
    }
    expect(paged).toEqual(all);

    expect(await store.lastSeq('s1')).toBe(2500);
    expect(await store.lastSeq('other')).toBe(3);
    expect(await store.lastSeq('missing')).toBe(0);
    expect(await store.lastSeqs(['s1', 'missing', 'other'])).toEqual(
      new Map([
        ['s1', 2500],
        ['other', 3],
      ]),
    );
    expect(await store.lastSeqs([])).toEqual(new Map());
  });

  it('rejects a duplicate (session_id, seq) and keeps none of that batch', async () => {
    await append(store, events('s1', 1, 3));

    await expect(append(store, events('s1', 3, 5))).rejects.toMatchObject(duplicate);

    expect(await store.lastSeq('s1')).toBe(3);
    expect((await store.readEvents('s1', 0, 10)).map((e) => e.seq)).toEqual([1, 2, 3]);
    // The same seq in another session is no duplicate.
    await append(store, events('s2', 3, 3));
    expect(await store.lastSeq('s2')).toBe(3);
  });

  it('prunes the events of sessions that ended before the cutoff only', async () => {
    const old = tick();
    await sessions.insertSession(record('ended-old', { state: 'terminated', updatedAt: old }));
    await sessions.insertSession(record('failed-old', { state: 'failed', updatedAt: old }));
    await sessions.insertSession(record('idle-old', { state: 'idle', updatedAt: old }));
    const cutoff = tick();
    await sessions.insertSession(record('ended-new', { state: 'terminated', updatedAt: tick() }));
    for (const id of ['ended-old', 'failed-old', 'idle-old', 'ended-new']) {
      await append(store, events(id, 1, 4));
    }

    expect(await store.pruneEvents(cutoff)).toBe(8);

    expect(await store.lastSeq('ended-old')).toBe(0);
    expect(await store.lastSeq('failed-old')).toBe(0);
    expect(await store.lastSeq('idle-old')).toBe(4);
    expect(await store.lastSeq('ended-new')).toBe(4);
    expect((await sessions.getSession('ended-old'))?.state).toBe('terminated');
    expect(await store.pruneEvents(cutoff)).toBe(0);
  });

  it('deletes the permission requests of the sessions it prunes', async () => {
    const old = tick();
    await sessions.insertSession(record('ended-old', { state: 'terminated', updatedAt: old }));
    await sessions.insertSession(record('idle-old', { state: 'idle', updatedAt: old }));
    const cutoff = tick();
    await requests.insertPermissionRequest(permissionRequest('ended-old', 'r1'));
    await requests.insertPermissionRequest(permissionRequest('idle-old', 'r1'));

    await store.pruneEvents(cutoff);

    expect(await requests.getPermissionRequest('ended-old', 'r1')).toBeUndefined();
    expect(await requests.getPermissionRequest('idle-old', 'r1')).toBeDefined();
  });
});
