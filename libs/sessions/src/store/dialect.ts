import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { Dialect, PostgresDialect } from 'kysely';
import { FairSqliteDialect } from './fair-sqlite-dialect';
import type { types as PgTypes } from 'pg';
import { WalCheckpointer, type WalCheckpointerOptions } from './wal-checkpointer';

/** Connections a node keeps to PostgreSQL: the group commit writes on one, reads take a few more. */
export const POSTGRES_POOL_SIZE = 10;

const logger = new Logger('SessionStore');

/**
 * `sqlite:<path>` (a file, WAL), `sqlite::memory:`, or `postgres://...` / `postgresql://...`
 * (libpq-style URL; e.g. `?options=-c%20search_path%3Djelmore` picks a schema).
 */
export function createDialect(databaseUrl: string): Dialect {
  // Only the dialect leaves here, so nothing could close a checkpointer's worker: none is started.
  return openDatabase(databaseUrl, { checkpoints: false }).dialect;
}

/** The dialect and, for SQLite, the connection itself (for prepared statements) and its checkpointer. */
export interface OpenDatabase {
  dialect: Dialect;
  sqlite?: Sqlite.Database;
  checkpointer?: WalCheckpointer;
}

export function openDatabase(
  databaseUrl: string,
  { checkpoints = true }: { checkpoints?: boolean | WalCheckpointerOptions } = {},
): OpenDatabase {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    const memory = path === ':memory:';
    if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = new Sqlite(memory ? ':memory:' : resolve(path));
    db.pragma('journal_mode = WAL');
    // With WAL, NORMAL loses no committed transaction on a process crash (only on power loss).
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    // better-sqlite3 builds SQLite with a 16 MiB page cache per connection; 8 MiB still holds the hot
    // index pages of thousands of sessions writing (about 4 KiB each).
    db.pragma('cache_size = -8000');
    // A file's checkpoints run in a worker (see WalCheckpointer), never inside a commit.
    const checkpointer =
      memory || !checkpoints
        ? undefined
        : new WalCheckpointer(resolve(path), checkpoints === true ? {} : checkpoints);
    if (checkpointer) db.pragma('wal_autocheckpoint = 0');
    // The WAL keeps its file when it starts over; one that grew past this (a long read held it) is cut.
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    return { dialect: new FairSqliteDialect({ database: db }), sqlite: db, checkpointer };
  }
  if (isPostgresUrl(databaseUrl)) {
    // pg is loaded only for a PostgreSQL URL: a SQLite node never needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Pool, types } = require('pg') as typeof import('pg');
    const pool = new Pool({
      connectionString: withDefaultUser(databaseUrl),
      max: POSTGRES_POOL_SIZE,
      idleTimeoutMillis: 30_000,
      // An unreachable server fails the boot (and the readiness probe) instead of hanging it.
      connectionTimeoutMillis: 10_000,
      types: { getTypeParser: numericTypeParser(types) },
    });
    // An idle client's connection can drop (server restart, failover); without a listener the
    // pool's 'error' event would end the process. The next query gets a fresh connection.
    pool.on('error', (err) => logger.warn(`PostgreSQL idle connection lost: ${err.message}`));
    return { dialect: new PostgresDialect({ pool }) };
  }
  // Only the scheme: the rest of a URL may hold a password.
  throw new Error(
    `Unsupported database URL scheme '${databaseUrl.split(':')[0]}:': expected sqlite:<path> or postgres://...`,
  );
}

function isPostgresUrl(databaseUrl: string): boolean {
  return /^postgres(ql)?:\/\//.test(databaseUrl);
}

/**
 * Counts (int8) and sums of integers (numeric) come back from pg as strings so no precision is lost;
 * the store's counts, token and seq values stay far below 2^53, so it reads them as numbers, as
 * SQLite gives them. Per pool, not pg's global registry, to leave other pg users alone.
 */
const numericTypeParser =
  (types: typeof PgTypes): typeof PgTypes.getTypeParser =>
  (oid, format) =>
    format !== 'binary' && (oid === types.builtins.INT8 || oid === types.builtins.NUMERIC)
      ? Number
      : (types.getTypeParser(oid, format) as (value: string) => unknown);

/**
 * pg takes a URL without a user name from $USER, which is often unset in containers and services;
 * libpq (psql) takes the operating-system user, and so do we.
 */
function withDefaultUser(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  if (url.username || process.env.PGUSER) return databaseUrl;
  url.username = encodeURIComponent(userInfo().username);
  return url.toString();
}
