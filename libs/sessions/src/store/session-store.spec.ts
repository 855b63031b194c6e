import type { SessionState } from '@jelmore/contracts';
import {
  sessionRecord as record,
  STORE_ADAPTERS,
  tick,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import type { SessionRecord } from './session-record';
import { SessionStore } from './session-store';

const LIVE: SessionState[] = ['starting', 'running', 'idle'];

describe.each(STORE_ADAPTERS)('SessionStore on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);
  let store: SessionStore;

  beforeAll(() => {
    store = new SessionStore(suite.connection);
  });

  describe('sessions', () => {
    it('reads back what it stored, numbers as numbers and JSON as objects', async () => {
      const full = record('s1', {
        owner: 'alice',
        state: 'suspended',
        providerRef: 'conv-1',
        suspendedState: {
          provider: 'claude',
          model: 'claude-sonnet-5-5',
          cwd: '/ws/s1',
          providerRef: 'conv-1',
          data: { nested: [1, 'two'] },
        },
        // Above 2^31: token counts are 64-bit on both adapters.
        usage: { inputTokens: 3_000_000_000, outputTokens: 42, costUsd: 0.123456789 },
        nodeId: 'node-a',
        agentPid: 4_194_304,
        maxBudgetUsd: 2.5,
        permissions: 'ask',
      });
      await store.insertSession(full);

      const read = await store.getSession('s1');
      expect(read).toEqual(full);
      expect(typeof read?.usage.inputTokens).toBe('number');
      expect(typeof read?.agentPid).toBe('number');
      expect(await store.getSession('missing')).toBeUndefined();
    });

    it('updates only the fields of the patch', async () => {
      const before = record('s1', { owner: 'alice', agentPid: 7 });
      await store.insertSession(before);
      const updatedAt = tick();

      await store.updateSession('s1', {
        state: 'running',
        usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.5 },
        agentPid: null,
        updatedAt,
      });

      expect(await store.getSession('s1')).toEqual({
        ...before,
        state: 'running',
        usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.5 },
        agentPid: null,
        updatedAt,
      });
    });

    it('lists newest first, by state, owner and node', async () => {
      await store.insertSession(record('a', { owner: 'alice', state: 'running', nodeId: 'n1' }));
      await store.insertSession(record('b', { owner: 'bob', state: 'idle', nodeId: 'n2' }));
      await store.insertSession(record('c', { owner: 'alice', state: 'terminated', nodeId: 'n1' }));
      await store.insertSession(record('d', { owner: 'alice', state: 'idle' }));
      const ids = (list: SessionRecord[]) => list.map((s) => s.id);

      expect(ids(await store.listSessions())).toEqual(['d', 'c', 'b', 'a']);
      expect(ids(await store.listSessions({ states: LIVE }))).toEqual(['d', 'b', 'a']);
      expect(ids(await store.listSessions({ owner: 'alice' }))).toEqual(['d', 'c', 'a']);
      expect(ids(await store.listSessions({ owner: 'alice', states: ['idle'] }))).toEqual(['d']);
      expect(await store.listSessions({ owner: 'nobody' })).toEqual([]);
      expect(await store.listSessions({ states: [] })).toEqual([]);

      expect(ids(await store.listSessionsByState(LIVE, { nodeIds: ['n1'] }))).toEqual(['a']);
      expect(ids(await store.listSessionsByState(LIVE, { nodeIds: ['n1', 'n2'] }))).toEqual([
        'b',
        'a',
      ]);
      // Sessions of nodes not in the live list, and of no node at all.
      expect(ids(await store.listSessionsByState(LIVE, { exceptNodeIds: ['n2'] }))).toEqual([
        'd',
        'a',
      ]);
      expect(ids(await store.listSessionsByState(LIVE, { exceptNodeIds: [] }))).toEqual([
        'd',
        'b',
        'a',
      ]);
      expect(await store.listSessionsByState(LIVE, { nodeIds: [] })).toEqual([]);
    });

    it('breaks ties in creation time by id, the same on every adapter', async () => {
      const at = tick();
      for (const id of ['m', 'z', 'a']) {
        await store.insertSession(record(id, { createdAt: at, updatedAt: at }));
      }
      expect((await store.listSessions()).map((s) => s.id)).toEqual(['z', 'm', 'a']);
    });

    it('sums the cost of an owner', async () => {
      await store.insertSession(
        record('a', { owner: 'alice', usage: { inputTokens: 1, outputTokens: 1, costUsd: 0.25 } }),
      );
      await store.insertSession(
        record('b', { owner: 'alice', usage: { inputTokens: 1, outputTokens: 1, costUsd: 0.5 } }),
      );
      await store.insertSession(
        record('c', { owner: 'bob', usage: { inputTokens: 1, outputTokens: 1, costUsd: 4 } }),
      );

      const cost = await store.costByOwner('alice');
      expect(cost).toBeCloseTo(0.75, 9);
      expect(typeof cost).toBe('number');
      expect(await store.costByOwner('nobody')).toBe(0);
    });

    it('totals sessions, live sessions and usage per provider as numbers', async () => {
      const usage = (inputTokens: number, costUsd: number) => ({
        inputTokens,
        outputTokens: inputTokens * 2,
        costUsd,
      });
      await store.insertSession(record('a', { state: 'running', usage: usage(100, 0.1) }));
      await store.insertSession(
        record('b', { state: 'terminated', usage: usage(2_500_000_000, 0.2) }),
      );
      await store.insertSession(
        record('c', { provider: 'opencode', state: 'idle', usage: usage(7, 0.3) }),
      );

      const totals = await store.totalsByProvider(LIVE);
      const byProvider = Object.fromEntries(totals.map((t) => [t.provider, t]));
      expect(byProvider).toEqual({
        claude: {
          provider: 'claude',
          sessions: 2,
          active: 1,
          usage: { inputTokens: 2_500_000_100, outputTokens: 5_000_000_200, costUsd: 0.3 },
        },
        opencode: {
          provider: 'opencode',
          sessions: 1,
          active: 1,
          usage: { inputTokens: 7, outputTokens: 14, costUsd: 0.3 },
        },
      });
      expect((await store.totalsByProvider([])).map((t) => t.active)).toEqual([0, 0]);
    });

    it("totals one owner's sessions only when asked for an owner", async () => {
      const usage = { inputTokens: 10, outputTokens: 20, costUsd: 0.5 };
      await store.insertSession(record('a', { owner: 'alice', state: 'running', usage }));
      await store.insertSession(record('b', { owner: 'bob', state: 'idle', usage }));
      await store.insertSession(record('c', { owner: 'bob', state: 'terminated', usage }));

      expect(await store.totalsByProvider(LIVE, 'alice')).toEqual([
        { provider: 'claude', sessions: 1, active: 1, usage },
      ]);
      expect(await store.totalsByProvider(LIVE, 'nobody')).toEqual([]);
      expect((await store.totalsByProvider(LIVE))[0]).toMatchObject({ sessions: 3, active: 2 });
    });

    it('gives counts and integer sums of its own queries as numbers, as SQLite does', async () => {
      await store.insertSession(
        record('a', { usage: { inputTokens: 3_000_000_000, outputTokens: 1, costUsd: 0.5 } }),
      );
      const row = await suite.connection.db
        .selectFrom('sessions')
        .select((eb) => [
          eb.fn.countAll().as('n'),
          eb.fn.sum('input_tokens').as('tokens'),
          eb.fn.sum('cost_usd').as('cost'),
        ])
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ n: 1, tokens: 3_000_000_000, cost: 0.5 });
    });

    it('tells which sessions ended before the cutoff, and where the others work', async () => {
      const old = tick();
      await store.insertSession(record('ended-old', { state: 'terminated', updatedAt: old }));
      await store.insertSession(record('failed-old', { state: 'failed', updatedAt: old }));
      await store.insertSession(
        record('suspended-old', { state: 'suspended', updatedAt: old, cwd: '/ws/shared' }),
      );
      const cutoff = tick();
      await store.insertSession(
        record('ended-new', { state: 'terminated', updatedAt: tick(), cwd: '/ws/shared' }),
      );
      await store.insertSession(record('running', { state: 'running', updatedAt: tick() }));

      const ids = ['ended-old', 'failed-old', 'suspended-old', 'ended-new', 'running', 'missing'];
      expect((await store.endedSessionIds(ids, cutoff)).sort()).toEqual([
        'ended-old',
        'failed-old',
      ]);
      expect(await store.endedSessionIds(['ended-new'], cutoff)).toEqual([]);
      expect(await store.endedSessionIds([], cutoff)).toEqual([]);
      expect((await store.cwdsInUse(cutoff)).sort()).toEqual(['/ws/running', '/ws/shared']);
    });
  });
});
