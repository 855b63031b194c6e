import {
  DatabaseConnection,
  Driver,
  SqliteAdapter,
  SqliteDialect,
  type DialectAdapter,
  type TransactionSettings,
} from 'kysely';

/**
 * Kysely's SQLite dialect, with its single connection handed out in FIFO order. Kysely's own mutex
 * (ConnectionMutex) wakes every waiter at each release and all but one wait again: with n queries
 * queued (a thousand sessions changing state at once) that is n² promises, ~60 MB of garbage and
 * hundreds of ms of event loop when 1,000 turns start together. Here each waiter has one promise and
 * a release wakes only the next.
 */
export class FairSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    // Tells Kysely not to use its own mutex: the driver below serializes instead.
    return new (class extends SqliteAdapter {
      override get supportsMultipleConnections(): boolean {
        return true;
      }
    })();
  }

  override createDriver(): Driver {
    return new FifoDriver(super.createDriver());
  }
}

class FifoDriver implements Driver {
  private busy = false;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly driver: Driver) {}

  init(): Promise<void> {
    return this.driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.busy = true;
    return this.driver.acquireConnection();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await this.driver.releaseConnection(connection);
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
