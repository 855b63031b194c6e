import { STORE_ADAPTERS, useStoreDatabase } from '../../../../test/support/store-databases';
import { ShareRecords, type ShareRow } from './share-records';

const row = (id: string, sessionId: string, createdAt: string): ShareRow => ({
  id,
  tokenHash: `hash-${id}`,
  sessionId,
  owner: 'alice',
  createdAt,
  expiresAt: '2026-01-02T00:00:00.000Z',
  revokedAt: null,
});

describe.each(STORE_ADAPTERS)('ShareRecords on $adapter', ({ create, duplicate }) => {
  const suite = useStoreDatabase(create);

  it('finds a link by its hash, lists a session’s in order and revokes once', async () => {
    const records = new ShareRecords(suite.connection);
    await records.insert(row('shr_b', 's1', '2026-01-01T00:00:02.000Z'));
    await records.insert(row('shr_a', 's1', '2026-01-01T00:00:01.000Z'));
    await records.insert(row('shr_c', 's2', '2026-01-01T00:00:03.000Z'));
    expect((await records.byTokenHash('hash-shr_c'))?.sessionId).toBe('s2');
    expect(await records.byTokenHash('nope')).toBeUndefined();
    expect((await records.ofSession('s1')).map((r) => r.id)).toEqual(['shr_a', 'shr_b']);

    await records.revoke('shr_a', '2026-01-01T01:00:00.000Z');
    await records.revoke('shr_a', '2026-01-01T02:00:00.000Z');
    expect((await records.byTokenHash('hash-shr_a'))?.revokedAt).toBe('2026-01-01T01:00:00.000Z');
    // A token hash is one link's only (matched by code: see STORE_ADAPTERS on toThrow).
    await expect(
      records.insert({ ...row('shr_d', 's1', 'x'), tokenHash: 'hash-shr_a' }),
    ).rejects.toMatchObject({ code: duplicate.code });
  });
});
