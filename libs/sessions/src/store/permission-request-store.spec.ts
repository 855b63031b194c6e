import {
  openConnection,
  permissionRequest,
  STORE_ADAPTERS,
  tick,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { PermissionRequestStore } from './permission-request-store';

describe.each(STORE_ADAPTERS)('PermissionRequestStore on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);
  let store: PermissionRequestStore;

  beforeAll(() => {
    store = new PermissionRequestStore(suite.connection);
  });

  it('reads back what it stored; lists the pending ones of a session, oldest first', async () => {
    const first = permissionRequest('s1', 'r-b');
    const second = permissionRequest('s1', 'r-a', { toolUseId: null, expiresAt: null });
    const settled = permissionRequest('s1', 'r-c', {
      state: 'allowed',
      resolvedAt: tick(),
      resolvedBy: 'client',
    });
    for (const r of [first, second, settled, permissionRequest('s2', 'r-b')]) {
      await store.insertPermissionRequest(r);
    }

    expect(await store.getPermissionRequest('s1', 'r-b')).toEqual(first);
    expect(await store.getPermissionRequest('s1', 'r-c')).toEqual(settled);
    expect(await store.getPermissionRequest('s1', 'missing')).toBeUndefined();
    expect(await store.getPermissionRequest('s3', 'r-b')).toBeUndefined();
    expect(await store.pendingPermissionRequests('s1')).toEqual([first, second]);
    expect(await store.pendingPermissionRequests('none')).toEqual([]);
    // The same request id in two sessions is two requests; twice in one session, an error.
    // Matched by the driver's error code (see SQLITE_DUPLICATE for why not toThrow()).
    await expect(
      store.insertPermissionRequest(permissionRequest('s1', 'r-b')),
    ).rejects.toHaveProperty('code');
  });

  it('settles a request once: a second resolution changes nothing', async () => {
    await store.insertPermissionRequest(permissionRequest('s1', 'r1'));
    const resolvedAt = tick();

    expect(
      await store.resolvePermissionRequest('s1', 'r1', {
        allow: false,
        by: 'timeout',
        reason: 'no answer in 300 s',
        resolvedAt,
      }),
    ).toBe(true);
    expect(
      await store.resolvePermissionRequest('s1', 'r1', {
        allow: true,
        by: 'client',
        resolvedAt: tick(),
      }),
    ).toBe(false);
    expect(
      await store.resolvePermissionRequest('s1', 'missing', {
        allow: true,
        by: 'client',
        resolvedAt: tick(),
      }),
    ).toBe(false);

    expect(await store.getPermissionRequest('s1', 'r1')).toMatchObject({
      state: 'denied',
      resolvedBy: 'timeout',
      reason: 'no answer in 300 s',
      resolvedAt,
    });
    expect(await store.pendingPermissionRequests('s1')).toEqual([]);
  });

  it('lets exactly one of two concurrent resolutions win', async () => {
    const connection = openConnection(suite.database.url);
    await connection.onModuleInit();
    const other = new PermissionRequestStore(connection);
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
      for (const id of ids) await store.insertPermissionRequest(permissionRequest('s1', id));

      const results = await Promise.all(
        ids.map((id) =>
          Promise.all([
            store.resolvePermissionRequest('s1', id, {
              allow: true,
              by: 'client',
              resolvedAt: tick(),
            }),
            other.resolvePermissionRequest('s1', id, {
              allow: false,
              by: 'timeout',
              resolvedAt: tick(),
            }),
          ]),
        ),
      );

      for (const [i, [reply, timeout]] of results.entries()) {
        expect(reply !== timeout).toBe(true);
        const stored = await store.getPermissionRequest('s1', ids[i]);
        expect(stored?.state).toBe(reply ? 'allowed' : 'denied');
      }
    } finally {
      await connection.onApplicationShutdown();
    }
  });
});
