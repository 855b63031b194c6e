import type { SessionState } from '@jelmore/contracts';
import {
  openConnection,
  sessionRecord as record,
  STORE_ADAPTERS,
  tick,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { SessionStore } from './session-store';

const LIVE: SessionState[] = ['starting', 'running', 'idle'];

/** The store's part in the cluster: which node owns a session, taken once even by nodes racing. */
describe.each(STORE_ADAPTERS)('SessionStore ownership on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);
  let store: SessionStore;

  beforeAll(() => {
    store = new SessionStore(suite.connection);
  });

  describe('cluster ownership', () => {
    it('claims a session only from the given states', async () => {
      await store.insertSession(record('s1', { state: 'suspended', nodeId: 'old' }));
      const updatedAt = tick();

      const won = await store.claimSession('s1', {
        fromStates: ['suspended', 'interrupted'],
        nodeId: 'n1',
        state: 'starting',
        updatedAt,
      });
      expect(won).toBe(true);
      expect(await store.getSession('s1')).toMatchObject({
        nodeId: 'n1',
        state: 'starting',
        updatedAt,
      });

      // Now starting: a second claim from suspended finds nothing to take.
      const again = await store.claimSession('s1', {
        fromStates: ['suspended', 'interrupted'],
        nodeId: 'n2',
        state: 'starting',
        updatedAt: tick(),
      });
      expect(again).toBe(false);
      expect(await store.getSession('s1')).toMatchObject({ nodeId: 'n1', updatedAt });
      expect(
        await store.claimSession('missing', {
          fromStates: ['suspended'],
          nodeId: 'n1',
          state: 'starting',
          updatedAt: tick(),
        }),
      ).toBe(false);
    });

    it('lets exactly one of two nodes win each concurrent claim', async () => {
      // Two stores, two connections (two pools on PostgreSQL): the claims really run at once.
      const connection = openConnection(suite.database.url);
      await connection.onModuleInit();
      const other = new SessionStore(connection);
      try {
        const ids = Array.from({ length: 20 }, (_, i) => `race-${i}`);
        for (const id of ids) await store.insertSession(record(id, { state: 'suspended' }));

        const claim = (on: SessionStore, id: string, nodeId: string) =>
          on.claimSession(id, {
            fromStates: ['suspended'],
            nodeId,
            state: 'starting',
            updatedAt: tick(),
          });
        const results = await Promise.all(
          ids.map((id) => Promise.all([claim(store, id, 'n1'), claim(other, id, 'n2')])),
        );

        for (const [i, [first, second]] of results.entries()) {
          expect(first !== second).toBe(true);
          const owner = (await store.getSession(ids[i]))?.nodeId;
          expect(owner).toBe(first ? 'n1' : 'n2');
        }
      } finally {
        await connection.onApplicationShutdown();
      }
    });

    it("marks interrupted only a node's sessions that are still live, with their previous state", async () => {
      await store.insertSession(record('running', { state: 'running', nodeId: 'dead' }));
      await store.insertSession(record('idle', { state: 'idle', nodeId: 'dead' }));
      await store.insertSession(record('suspended', { state: 'suspended', nodeId: 'dead' }));
      await store.insertSession(record('ended', { state: 'terminated', nodeId: 'dead' }));
      await store.insertSession(record('alive', { state: 'running', nodeId: 'n1' }));
      await store.insertSession(record('orphan', { state: 'running' }));
      const updatedAt = tick();

      const changed = await store.markInterrupted('dead', { fromStates: LIVE, updatedAt });

      expect(changed.sort((a, b) => a.id.localeCompare(b.id))).toEqual([
        { id: 'idle', from: 'idle' },
        { id: 'running', from: 'running' },
      ]);
      const states = Object.fromEntries(
        (await store.listSessions()).map((s) => [s.id, [s.state, s.updatedAt === updatedAt]]),
      );
      expect(states).toEqual({
        running: ['interrupted', true],
        idle: ['interrupted', true],
        suspended: ['suspended', false],
        ended: ['terminated', false],
        alive: ['running', false],
        orphan: ['running', false],
      });
      expect(await store.markInterrupted('dead', { fromStates: LIVE, updatedAt: tick() })).toEqual(
        [],
      );
    });

    it('leaves alone a session another node claimed before the interrupt', async () => {
      await store.insertSession(record('s1', { state: 'idle', nodeId: 'dead' }));
      await store.claimSession('s1', {
        fromStates: ['idle'],
        nodeId: 'n1',
        state: 'running',
        updatedAt: tick(),
      });

      expect(await store.markInterrupted('dead', { fromStates: LIVE, updatedAt: tick() })).toEqual(
        [],
      );
      expect(await store.getSession('s1')).toMatchObject({ state: 'running', nodeId: 'n1' });
    });
  });
});
