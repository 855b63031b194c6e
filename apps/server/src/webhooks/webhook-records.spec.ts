import { STORE_ADAPTERS, useStoreDatabase } from '../../../../test/support/store-databases';
import { WebhookRecords } from './webhook-records';

const delivery = (id: string, seq: number) => ({
  id,
  webhookId: 'wh_1',
  sessionId: 's1',
  seq,
  event: 'result' as const,
  body: `{"id":"${id}"}`,
});

describe.each(STORE_ADAPTERS)('WebhookRecords on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);

  it('records an event once per webhook and lets one node claim each due delivery', async () => {
    const records = new WebhookRecords(suite.connection);
    const now = new Date('2026-01-01T00:00:00.000Z');
    const lease = new Date(now.getTime() + 30_000);
    await records.insertDeliveries([delivery('d1', 1), delivery('d2', 2)], now);
    // The same event again (another id) is kept as it was.
    await records.insertDeliveries([delivery('d1-again', 1)], now);

    const [a, b] = await Promise.all([
      records.claimDue('node-a', now, lease, 10),
      records.claimDue('node-b', now, lease, 10),
    ]);
    expect([...a, ...b].map((d) => d.id).sort()).toEqual(['d1', 'd2']);

    await records.recordAttempt(
      'd1',
      {
        state: 'pending',
        attempts: 1,
        nextAttemptAt: new Date(now.getTime() + 1_000),
        status: 500,
        error: 'answered 500',
      },
      now,
    );
    // d2's lease still runs; d1 is not due yet. Then the longest due first.
    expect(await records.claimDue('node-c', now, lease, 10)).toEqual([]);
    const later = new Date(now.getTime() + 31_000);
    const claimed = await records.claimDue('node-c', later, new Date(later.getTime() + 30_000), 10);
    expect(claimed.map((d) => [d.id, d.attempts, d.lastStatus])).toEqual([
      ['d2', 0, null],
      ['d1', 1, 500],
    ]);
    // Released at shutdown: due again at once.
    await records.release('node-c', ['d2']);
    expect((await records.claimDue('node-d', later, later, 10)).map((d) => d.id)).toEqual(['d2']);
  });
});
