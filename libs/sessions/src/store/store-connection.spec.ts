import { Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import {
  openConnection,
  permissionRequest,
  sessionRecord,
  STORE_ADAPTERS,
  tick,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { createDialect } from './dialect';
import { migrationProvider } from './migrations';
import { PermissionRequestStore } from './permission-request-store';
import { SessionStore } from './session-store';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(STORE_ADAPTERS)('StoreConnection on $adapter', ({ adapter, create }) => {
  const suite = useStoreDatabase(create);

  describe('migrations', () => {
    it('run again on a migrated database change nothing and keep the migration id', async () => {
      await new SessionStore(suite.connection).insertSession(sessionRecord('kept'));
      const again = openConnection(suite.database.url);
      try {
        await again.onModuleInit();
        await again.onModuleInit();
        const { rows } = await sql<{
          name: string;
        }>`select name from kysely_migration order by name`.execute(again.db);
        expect(rows.map((r) => r.name)).toEqual([
          '0001_sessions_and_events',
          '0002_permission_requests',
          '0003_attachments',
          '0004_checkpoints',
          '0005_delegation',
          '0006_traffic_policies',
          '0007_response_cache',
          '0008_webhooks',
          '0009_push',
          '0010_shares',
        ]);
        expect((await new SessionStore(again).getSession('kept'))?.id).toBe('kept');
      } finally {
        await again.onApplicationShutdown();
      }
    });

    it('upgrade a database of the first schema, keeping its sessions and events', async () => {
      const old = await create();
      try {
        // A database as the first release left it: migrated to 0001 only, with a session in it.
        const db = new Kysely<unknown>({ dialect: createDialect(old.url) });
        try {
          const schema =
            adapter === 'PostgreSQL'
              ? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0].s
              : undefined;
          const { error } = await new Migrator({
            db,
            provider: migrationProvider,
            ...(schema ? { migrationTableSchema: schema } : {}),
          }).migrateTo('0001_sessions_and_events');
          expect(error).toBeUndefined();
          await sql`insert into sessions (id, provider, model, state, cwd, created_at, updated_at)
            values ('early', 'claude', 'claude-sonnet-5-5', 'suspended', '/ws/early', ${tick()}, ${tick()})`.execute(
            db,
          );
        } finally {
          await db.destroy();
        }
        const upgraded = openConnection(old.url);
        try {
          await upgraded.onModuleInit();
          expect(await new SessionStore(upgraded).getSession('early')).toMatchObject({
            id: 'early',
            state: 'suspended',
            permissions: null,
          });
          const requests = new PermissionRequestStore(upgraded);
          await requests.insertPermissionRequest(permissionRequest('early', 'r1'));
          expect(await requests.pendingPermissionRequests('early')).toHaveLength(1);
        } finally {
          await upgraded.onApplicationShutdown();
        }
      } finally {
        await old.drop();
      }
    });
  });

  describe('close', () => {
    it('ends its connections', async () => {
      const closing = openConnection(suite.database.tagged('closing'));
      await closing.onModuleInit();
      await closing.ping();
      const count = suite.database.openConnections;
      if (count) expect(await count('closing')).toBeGreaterThan(0);

      await closing.onApplicationShutdown();

      await expect(closing.ping()).rejects.toThrow();
      if (count) {
        // A backend leaves pg_stat_activity a moment after its client hung up.
        const deadline = Date.now() + 5000;
        while ((await count('closing')) > 0 && Date.now() < deadline) await pause(50);
        expect(await count('closing')).toBe(0);
      }
    });
  });
});
