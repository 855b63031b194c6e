import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import type { SessionEvent } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS } from '../../libs/sessions/src/sessions.options';
import { createDialect } from '../../libs/sessions/src/store/dialect';
import type { EventStore } from '../../libs/sessions/src/store/event-store';
import type { PermissionRequestRecord } from '../../libs/sessions/src/store/permission-request-store';
import { NO_HISTORY, type SessionRecord } from '../../libs/sessions/src/store/session-record';
import { StoreConnection } from '../../libs/sessions/src/store/store-connection';
import { POSTGRES_URL } from './cluster-services';

/** A database for one run of a store suite: a SQLite file, or a PostgreSQL schema of its own. */
export interface TestDatabase {
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
 * search_path; a tag becomes the connections' application_name, so they can be counted. PostgreSQL
 * runs on this machine and in CI: the suites fail (never skip) when it does not.
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

/**
 * The adapters every store suite runs on, with what each driver rejects a duplicate key with. Matched
 * by fields, not `toThrow()`: better-sqlite3's native addon is loaded once per process and keeps the
 * SqliteError class of the first Jest test file that loaded it, so in a later file of the same worker
 * its errors are not `instanceof Error` and `toThrow()` reports "did not throw" although the insert
 * failed.
 */
export const STORE_ADAPTERS = [
  {
    adapter: 'SQLite',
    create: sqliteDatabase,
    duplicate: {
      code: 'SQLITE_CONSTRAINT_UNIQUE',
      message: 'UNIQUE constraint failed: events.session_id, events.seq',
    },
  },
  {
    adapter: 'PostgreSQL',
    create: postgresDatabase,
    duplicate: { code: '23505', constraint: 'events_session_seq' },
  },
];

/** A connection to `url`, not migrated yet (its onModuleInit does that). */
export function openConnection(url: string): StoreConnection {
  return new StoreConnection({
    ...DEFAULT_SESSIONS_OPTIONS,
    databaseUrl: url,
    workspaceRoot: tmpdir(),
  });
}

/**
 * Registers the suite's hooks: a fresh database and a migrated connection to it for the suite, its
 * tables emptied before each test. Read `database` and `connection` inside hooks and tests.
 */
export function useStoreDatabase(create: () => Promise<TestDatabase>): {
  database: TestDatabase;
  connection: StoreConnection;
} {
  const suite = {} as { database: TestDatabase; connection: StoreConnection };
  beforeAll(async () => {
    suite.database = await create();
    suite.connection = openConnection(suite.database.url);
    await suite.connection.onModuleInit();
  });
  afterAll(async () => {
    await suite.connection?.onApplicationShutdown();
    await suite.database?.drop();
  });
  beforeEach(async () => {
    for (const table of [
      'events',
      'permission_requests',
      'session_attachments',
      'attachments',
      'attachment_blobs',
      'sessions',
    ] as const) {
      await suite.connection.db.deleteFrom(table).execute();
    }
  });
  return suite;
}

let clock = Date.parse('2030-01-01T00:00:00.000Z');
/** Strictly increasing ISO timestamps, so ordering by time is well defined. */
export const tick = () => new Date((clock += 1000)).toISOString();

export function sessionRecord(id: string, patch: Partial<SessionRecord> = {}): SessionRecord {
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
    title: null,
    ...NO_HISTORY,
    ...patch,
  };
}

export function permissionRequest(
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

/** Assistant events `from`..`to` of a session. */
export function assistantEvents(sessionId: string, from: number, to: number): SessionEvent[] {
  const out: SessionEvent[] = [];
  for (let seq = from; seq <= to; seq++) {
    out.push({ sessionId, seq, ts: tick(), type: 'assistant', text: `piece ${seq} — ünïcode` });
  }
  return out;
}

/** Appends a batch as the group commit does: the events with their JSON. */
export const appendEvents = (store: EventStore, list: SessionEvent[]) =>
  store.appendEvents(
    list,
    list.map((e) => JSON.stringify(e)),
  );
