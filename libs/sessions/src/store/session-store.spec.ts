import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { SessionEvent, SessionState } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS } from '../sessions.options';
import { createDialect } from './dialect';
import { migrationProvider } from './migrations';
import type { SessionRecord } from './session-record';
import { PermissionRequestRecord, SessionStore } from './session-store';

/** PostgreSQL runs on this machine and in CI; the suite fails (never skips) when it does not. */
const POSTGRES_URL = process.env.JELMORE_TEST_POSTGRES_URL ?? 'postgres://127.0.0.1:5432/test';

const LIVE: SessionState[] = ['starting', 'running', 'idle'];

/** A database for one run of the suite: a SQLite file, or a PostgreSQL schema of its own. */
interface TestDatabase {
  url: string;
  /** The same database, with the connections tagged `tag` where the adapter can tell them apart. */
  tagged(tag: string): string;
  /** Backends open under `tag` (PostgreSQL only): proves that closing a store ends its pool. */
  openConnections?(tag: string): Promise<number>;
  drop(): Promise<void>;
}

async function sqliteDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-store-'));
  const url = `sqlite:${join(dir, 'jelmore.db')}`;
  return {
    url,
    tagged: () => url,
    async drop() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fresh schema, named at random so parallel runs never meet, selected through the URL's
 * search_path; a tag becomes the connections' application_name, so they can be counted.
 */
async function postgresDatabase(): Promise<TestDatabase> {
  const admin = new Kysely<unknown>({ dialect: createDialect(POSTGRES_URL) });
  const schema = `jelmore_test_${randomBytes(6).toString('hex')}`;
  try {
    await sql`create schema ${sql.id(schema)}`.execute(admin);
  } catch (err) {
    await admin.destroy();
    throw new Error(
      `PostgreSQL is unreachable at ${POSTGRES_URL} (${(err as Error).message}); the store suite ` +
        'runs against it: start it, or point JELMORE_TEST_POSTGRES_URL at one',
      { cause: err },
    );
  }
  const tagged = (tag: string) => {
    const params = new URLSearchParams({
      options: `-c search_path=${schema}`,
      application_name: `${schema}_${tag}`,
    });
    return `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}${params.toString()}`;
  };
  return {
    url: tagged('suite'),
    tagged,
    async openConnections(tag) {
      const { rows } = await sql<{ n: number }>`
        select count(*) as n from pg_stat_activity
        where application_name = ${`${schema}_${tag}`}`.execute(admin);
      return Number(rows[0].n);
    },
    async drop() {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
      await admin.destroy();
    },
  };
}

function openStore(url: string): SessionStore {
  return new SessionStore({
    ...DEFAULT_SESSIONS_OPTIONS,
    databaseUrl: url,
    workspaceRoot: tmpdir(),
  });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let clock = Date.parse('2030-01-01T00:00:00.000Z');
/** Strictly increasing ISO timestamps, so ordering by time is well defined. */
const tick = () => new Date((clock += 1000)).toISOString();

function record(id: string, patch: Partial<SessionRecord> = {}): SessionRecord {
  const at = tick();
  return {
    id,
    owner: null,
    provider: 'claude',
    model: 'claude-sonnet-5-5',
    state: 'idle',
    cwd: `/ws/${id}`,
    providerRef: null,
    suspendedState: null,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    createdAt: at,
    updatedAt: at,
    nodeId: null,
    agentPid: null,
    maxBudgetUsd: null,
    permissions: null,
    ...patch,
  };
}

function permissionRequest(
  sessionId: string,
  requestId: string,
  patch: Partial<PermissionRequestRecord> = {},
): PermissionRequestRecord {
  return {
    sessionId,
    requestId,
    tool: 'Bash',
    input: { command: 'rm -rf build', description: 'clean — ünïcode' },
    toolUseId: `toolu_${requestId}`,
    state: 'pending',
    createdAt: tick(),
    expiresAt: tick(),
    resolvedAt: null,
    resolvedBy: null,
    reason: null,
    ...patch,
  };
}

function events(sessionId: string, from: number, to: number): SessionEvent[] {
  const out: SessionEvent[] = [];
  for (let seq = from; seq <= to; seq++) {
    out.push({ sessionId, seq, ts: tick(), type: 'assistant', text: `piece ${seq} — ünïcode` });
  }
  return out;
}

const append = (store: SessionStore, list: SessionEvent[]) =>
  store.appendEvents(
    list,
    list.map((e) => JSON.stringify(e)),
  );

/**
 * What each driver rejects a duplicate (session_id, seq) with. Matched by fields, not `toThrow()`:
 * better-sqlite3's native addon is loaded once per process and keeps the SqliteError class of the
 * first Jest test file that loaded it, so in a later file of the same worker its errors are not
 * `instanceof Error` and `toThrow()` reports "did not throw" although the insert failed.
 */
const SQLITE_DUPLICATE = {
  code: 'SQLITE_CONSTRAINT_UNIQUE',
  message: 'UNIQUE constraint failed: events.session_id, events.seq',
};
const POSTGRES_DUPLICATE = { code: '23505', constraint: 'events_session_seq' };

describe.each([
  { adapter: 'SQLite', create: sqliteDatabase, duplicate: SQLITE_DUPLICATE },
  { adapter: 'PostgreSQL', create: postgresDatabase, duplicate: POSTGRES_DUPLICATE },
])('SessionStore on $adapter', ({ adapter, create, duplicate }) => {
  let database: TestDatabase;
  let store: SessionStore;

  beforeAll(async () => {
    database = await create();
    store = openStore(database.url);
    await store.onModuleInit();
  });

  afterAll(async () => {
    await store?.onApplicationShutdown();
    await database?.drop();
  });

  beforeEach(async () => {
    await store.db.deleteFrom('events').execute();
    await store.db.deleteFrom('permission_requests').execute();
    await store.db.deleteFrom('sessions').execute();
  });

  describe('migrations', () => {
    it('run again on a migrated database change nothing and keep the migration id', async () => {
      await store.insertSession(record('kept'));
      const again = openStore(database.url);
      try {
        await again.onModuleInit();
        await again.onModuleInit();
        const { rows } = await sql<{
          name: string;
        }>`select name from kysely_migration order by name`.execute(again.db);
        expect(rows.map((r) => r.name)).toEqual([
          '0001_sessions_and_events',
          '0002_permission_requests',
        ]);
        expect((await again.getSession('kept'))?.id).toBe('kept');
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
        const upgraded = openStore(old.url);
        try {
          await upgraded.onModuleInit();
          expect(await upgraded.getSession('early')).toMatchObject({
            id: 'early',
            state: 'suspended',
            permissions: null,
          });
          await upgraded.insertPermissionRequest(permissionRequest('early', 'r1'));
          expect(await upgraded.pendingPermissionRequests('early')).toHaveLength(1);
        } finally {
          await upgraded.onApplicationShutdown();
        }
      } finally {
        await old.drop();
      }
    });
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
      const row = await store.db
        .selectFrom('sessions')
        .select((eb) => [
          eb.fn.countAll().as('n'),
          eb.fn.sum('input_tokens').as('tokens'),
          eb.fn.sum('cost_usd').as('cost'),
        ])
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ n: 1, tokens: 3_000_000_000, cost: 0.5 });
    });
  });

  describe('events', () => {
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
      await store.insertSession(record('ended-old', { state: 'terminated', updatedAt: old }));
      await store.insertSession(record('failed-old', { state: 'failed', updatedAt: old }));
      await store.insertSession(record('idle-old', { state: 'idle', updatedAt: old }));
      const cutoff = tick();
      await store.insertSession(record('ended-new', { state: 'terminated', updatedAt: tick() }));
      for (const id of ['ended-old', 'failed-old', 'idle-old', 'ended-new']) {
        await append(store, events(id, 1, 4));
      }

      expect(await store.pruneEvents(cutoff)).toBe(8);

      expect(await store.lastSeq('ended-old')).toBe(0);
      expect(await store.lastSeq('failed-old')).toBe(0);
      expect(await store.lastSeq('idle-old')).toBe(4);
      expect(await store.lastSeq('ended-new')).toBe(4);
      expect((await store.getSession('ended-old'))?.state).toBe('terminated');
      expect(await store.pruneEvents(cutoff)).toBe(0);
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

  describe('permission requests', () => {
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
      const other = openStore(database.url);
      await other.onModuleInit();
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
        await other.onApplicationShutdown();
      }
    });

    it('are pruned with the events of ended sessions', async () => {
      const old = tick();
      await store.insertSession(record('ended-old', { state: 'terminated', updatedAt: old }));
      await store.insertSession(record('idle-old', { state: 'idle', updatedAt: old }));
      const cutoff = tick();
      await store.insertPermissionRequest(permissionRequest('ended-old', 'r1'));
      await store.insertPermissionRequest(permissionRequest('idle-old', 'r1'));

      await store.pruneEvents(cutoff);

      expect(await store.getPermissionRequest('ended-old', 'r1')).toBeUndefined();
      expect(await store.getPermissionRequest('idle-old', 'r1')).toBeDefined();
    });
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
      const other = openStore(database.url);
      await other.onModuleInit();
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
        await other.onApplicationShutdown();
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

  describe('close', () => {
    it('ends its connections', async () => {
      const closing = openStore(database.tagged('closing'));
      await closing.onModuleInit();
      await closing.ping();
      const count = database.openConnections;
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
