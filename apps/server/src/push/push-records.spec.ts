import { STORE_ADAPTERS, useStoreDatabase } from '../../../../test/support/store-databases';
import { PushRecords } from './push-records';

const subscription = (id: string, owner: string, endpoint: string) => ({
  id,
  owner,
  endpoint,
  p256dh: 'p',
  auth: 'a',
  createdAt: '2026-01-01T00:00:00.000Z',
});

describe.each(STORE_ADAPTERS)('PushRecords on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);

  it('keeps one subscription per endpoint, filtered by owner', async () => {
    const records = new PushRecords(suite.connection);
    await records.upsertSubscription(subscription('s1', 'alice', 'https://push/1'));
    await records.upsertSubscription(subscription('s2', 'bob', 'https://push/2'));
    // The same browser subscribed again, under another key: it is that key's now.
    await records.upsertSubscription(subscription('s3', 'bob', 'https://push/1'));
    expect((await records.subscriptions()).map((s) => s.id).sort()).toEqual(['s2', 's3']);
    expect(await records.subscriptions({ owners: ['alice'] })).toEqual([]);
    expect((await records.subscriptions({ owners: ['bob'] })).length).toBe(2);
    expect(await records.subscriptions({ owners: [] })).toEqual([]);
    await records.deleteSubscription('s2');
    expect((await records.subscriptions({ owners: ['bob'] })).map((s) => s.id)).toEqual(['s3']);
  });

  it('lets a token be claimed once, before it expires, and given back', async () => {
    const records = new PushRecords(suite.connection);
    const now = new Date('2026-01-01T00:00:00.000Z');
    const expiresAt = new Date(now.getTime() + 60_000).toISOString();
    const row = { sessionId: 's', requestId: 'r', owner: 'alice', expiresAt, usedAt: null };
    await records.insertToken({ ...row, tokenHash: 'h1' }, now);
    await records.insertToken({ ...row, tokenHash: 'h2' }, now);

    const claims = await Promise.all([
      records.claimToken('h1', now),
      records.claimToken('h1', now),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect((await records.token('h1'))?.usedAt).toBe(now.toISOString());
    await records.releaseToken('h1');
    expect(await records.claimToken('h1', now)).toBe(true);

    expect(await records.claimToken('h2', new Date(now.getTime() + 60_000))).toBe(false);
    expect((await records.token('h2'))?.usedAt).toBeNull();
    await records.pruneTokens(new Date(now.getTime() + 61_000));
    expect(await records.token('h2')).toBeUndefined();
  });
});
