import Sqlite from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { Dialect, SqliteDialect } from 'kysely';

/** `sqlite:<path>` (a file, WAL) or `sqlite::memory:`; PostgreSQL arrives with cluster mode. */
export function createDialect(databaseUrl: string): Dialect {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    const memory = path === ':memory:';
    if (!memory) mkdirSync(dirname(resolve(path)), { recursive: true });
    const db = new Sqlite(memory ? ':memory:' : resolve(path));
    db.pragma('journal_mode = WAL');
    // With WAL, NORMAL loses no committed transaction on a process crash (only on power loss).
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    return new SqliteDialect({ database: db });
  }
  throw new Error(`Unsupported database URL '${databaseUrl}': expected sqlite:<path>`);
}
