import type Sqlite from 'better-sqlite3';
import {
  CompiledQuery,
  DatabaseConnection,
  Driver,
  SqliteAdapter,
  SqliteDialect,
  type DialectAdapter,
  type QueryResult,
  type SqliteDialectConfig,
  type TransactionSettings,
} from 'kysely';

/** Distinct statements kept prepared; past it they are all dropped (an `in (…)` list makes new SQL). */
const MAX_STATEMENTS = 200;

/**
 * Kysely's SQLite dialect, with its single connection handed out in FIFO order. Kysely's own mutex
 * (ConnectionMutex) wakes every waiter at each release and all but one wait again: with n queries
 * queued (a thousand sessions changing state at once) that is n² promises, ~60 MB of garbage and
 * hundreds of ms of event loop when 1,000 turns start together. Here each waiter has one promise and
 * a release wakes only the next. Its statements are prepared once each (see PreparedConnection).
 */
export class FairSqliteDialect extends SqliteDialect {
  constructor(private readonly sqliteConfig: SqliteDialectConfig & { database: Sqlite.Database }) {
    super(sqliteConfig);
  }

  override createAdapter(): DialectAdapter {
    // Tells Kysely not to use its own mutex: the driver below serializes instead.
    return new (class extends SqliteAdapter {
      override get supportsMultipleConnections(): boolean {
        return true;
      }
    })();
  }

  override createDriver(): Driver {
    return new FifoDriver(super.createDriver(), new PreparedConnection(this.sqliteConfig.database));
  }
}

/**
 * Kysely's SQLite connection, but for the statements: its driver prepares each query's SQL again every
 * time (about a quarter of what a session's INSERT or UPDATE costs, bench/ rest create); here each SQL
 * is prepared once and kept.
 */
class PreparedConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Sqlite.Statement>();

  constructor(private readonly db: Sqlite.Database) {}

  async executeQuery<R>({ sql, parameters }: CompiledQuery): Promise<QueryResult<R>> {
    const statement = this.prepared(sql);
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>({ sql, parameters }: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    // Its own statement: one that iterates is busy until the iteration ends.
    for (const row of this.db.prepare(sql).iterate(parameters)) yield { rows: [row as R] };
  }

  private prepared(sql: string): Sqlite.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

class FifoDriver implements Driver {
  private busy = false;
  private readonly waiters: Array<() => void> = [];

  constructor(
    private readonly driver: Driver,
    private readonly connection: PreparedConnection,
  ) {}

  init(): Promise<void> {
    return this.driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.busy = true;
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    const next = this.waiters.shift();
    // The connection passes straight to the next waiter (busy stays set).
    if (next) next();
    else this.busy = false;
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.driver.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.driver.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.driver.rollbackTransaction(connection);
  }

  savepoint: Driver['savepoint'] = (...args) => this.driver.savepoint!(...args);
  rollbackToSavepoint: Driver['rollbackToSavepoint'] = (...args) =>
    this.driver.rollbackToSavepoint!(...args);
  releaseSavepoint: Driver['releaseSavepoint'] = (...args) =>
    this.driver.releaseSavepoint!(...args);

  destroy(): Promise<void> {
    return this.driver.destroy();
  }
}
