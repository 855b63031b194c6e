import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { type CompiledQuery, Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import type Sqlite from 'better-sqlite3';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import { openDatabase } from './dialect';
import { migrationProvider } from './migrations';
import type { Database } from './schema';
import { SqliteReads } from './sqlite-reads';
import type { WalCheckpointer } from './wal-checkpointer';

/**
 * The store's database, behind one Kysely schema for every adapter: opened from the options' URL,
 * migrated at init, closed last at shutdown. SessionStore, EventStore and PermissionRequestStore query
 * it; nothing else opens a connection.
 */
@Injectable()
export class StoreConnection implements OnModuleInit, OnApplicationShutdown {
  readonly db: Kysely<Database>;
  /** SQLite: the connection itself, for statements prepared once (see EventStore). */
  readonly sqlite?: Sqlite.Database;
  private readonly checkpointer?: WalCheckpointer;
  private readonly postgres: boolean;
  private readonly reads?: SqliteReads;

  constructor(@Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions) {
    const { dialect, sqlite, checkpointer } = openDatabase(options.databaseUrl);
    this.db = new Kysely<Database>({ dialect });
    this.sqlite = sqlite;
    this.reads = sqlite && new SqliteReads(sqlite);
    this.checkpointer = checkpointer;
    this.postgres = /^postgres(ql)?:/.test(options.databaseUrl);
  }

  private async currentSchema(): Promise<string> {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(
      this.db,
    );
    return rows[0].schema;
  }

  async onModuleInit(): Promise<void> {
    const { error } = await new Migrator({
      db: this.db,
      provider: migrationProvider,
      // Kysely looks for its migration tables in any schema unless told which: with a search_path
      // (one schema per deployment or test), another schema's tables would be taken for ours.
      ...(this.postgres ? { migrationTableSchema: await this.currentSchema() } : {}),
    }).migrateToLatest();
    if (error)
      throw error instanceof Error
        ? error
        : new Error(`Migration failed: ${JSON.stringify(error)}`);
  }

  /** Last of the shutdown hooks, so sessions are suspended and events flushed before it closes. */
  async onApplicationShutdown(): Promise<void> {
    await this.checkpointer?.close();
    await this.db.destroy();
  }

  /** A select's rows: on SQLite straight from the connection (see SqliteReads), else through Kysely. */
  async rows<R>(query: { compile(): CompiledQuery<R>; execute(): Promise<R[]> }): Promise<R[]> {
    return this.reads ? this.reads.all(query) : query.execute();
  }

  /** A promise while the WAL's checkpoint needs writes held for it to catch up (see WalCheckpointer). */
  walCatchUp(): Promise<void> | undefined {
    return this.checkpointer?.catchUp();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }
}
