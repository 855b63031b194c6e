import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { SessionEvent, SessionState, Usage } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type Sqlite from 'better-sqlite3';
import { rememberEncoding } from '../events/encoded-event';
import { openDatabase } from './dialect';
import type { WalCheckpointer } from './wal-checkpointer';
import { migrationProvider } from './migrations';
import type { Database } from './schema';
import type { SessionRecord } from './session-record';
import {
  fromPermissionRow,
  fromRow,
  type PermissionRequestRecord,
  type PermissionResolution,
  type SessionRow,
  toRow,
} from './session-rows';

export type { PermissionRequestRecord, PermissionResolution } from './session-rows';

export interface ProviderTotals {
  provider: string;
  sessions: number;
  active: number;
  usage: Usage;
}

/** Which sessions `listSessions` returns; every given condition must hold. */
export interface SessionFilter {
  states?: readonly SessionState[];
  owner?: string;
  /** Only sessions owned by one of these nodes. */
  nodeIds?: readonly string[];
  /** Only sessions not owned by any of these nodes (the live ones): those of dead nodes, or of none. */
  exceptNodeIds?: readonly string[];
}

/** A session moved by `markInterrupted`, with the state it was in. */
export interface InterruptedSession {
  id: string;
  from: SessionState;
}

/** Sessions and their event log, behind one Kysely schema for every adapter. */
@Injectable()
export class SessionStore implements OnModuleInit, OnApplicationShutdown {
  readonly db: Kysely<Database>;
  /** SQLite: the group commit's insert, prepared once, in one synchronous transaction per batch. */
  private readonly appendSqlite?: (events: SessionEvent[], encoded: string[]) => void;
  private readonly checkpointer?: WalCheckpointer;

  private readonly postgres: boolean;

  constructor(@Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions) {
    const { dialect, sqlite, checkpointer } = openDatabase(options.databaseUrl);
    this.db = new Kysely<Database>({ dialect });
    this.checkpointer = checkpointer;
    if (sqlite) this.appendSqlite = preparedAppend(sqlite);
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

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async insertSession(record: SessionRecord): Promise<void> {
    await this.db
      .insertInto('sessions')
      .values(toRow(record) as SessionRow)
      .execute();
  }

  async updateSession(id: string, patch: Partial<SessionRecord>): Promise<void> {
    const row = toRow(patch);
    delete row.id;
    await this.db.updateTable('sessions').set(row).where('id', '=', id).execute();
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && fromRow(row);
  }

  /** Newest first. */
  async listSessions(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    // `in ()` is an error in PostgreSQL: an empty list matches nothing, or excludes nothing.
    if (filter.states?.length === 0 || filter.nodeIds?.length === 0) return [];
    let query = this.db
      .selectFrom('sessions')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc');
    if (filter.states) query = query.where('state', 'in', filter.states);
    if (filter.owner !== undefined) query = query.where('owner', '=', filter.owner);
    if (filter.nodeIds) query = query.where('node_id', 'in', filter.nodeIds);
    const except = filter.exceptNodeIds;
    if (except?.length) {
      // `not in` alone would drop sessions no node owns (node_id null): those need an owner too.
      query = query.where((eb) =>
        eb.or([eb('node_id', 'is', null), eb('node_id', 'not in', except)]),
      );
    }
    return (await query.execute()).map(fromRow);
  }

  /**
   * Sessions in one of `states`, optionally only those of some nodes or of none of them: e.g. the live
   * sessions of nodes whose lease expired, or the suspended ones any node may resume.
   */
  async listSessionsByState(
    states: readonly SessionState[],
    nodes: Pick<SessionFilter, 'nodeIds' | 'exceptNodeIds'> = {},
  ): Promise<SessionRecord[]> {
    return this.listSessions({ states, ...nodes });
  }

  /**
   * Takes a session for `nodeId` if it is still in one of `fromStates`, in one conditional UPDATE:
   * when two nodes claim the same session at once exactly one gets true (the other's UPDATE finds the
   * new state and changes nothing). The caller that gets false must leave the session alone.
   */
  async claimSession(
    id: string,
    claim: {
      fromStates: readonly SessionState[];
      nodeId: string;
      state: SessionState;
      updatedAt: string;
    },
  ): Promise<boolean> {
    if (claim.fromStates.length === 0) return false;
    const result = await this.db
      .updateTable('sessions')
      .set({ node_id: claim.nodeId, state: claim.state, updated_at: claim.updatedAt })
      .where('id', '=', id)
      .where('state', 'in', claim.fromStates)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Marks `interrupted` the sessions still owned by `nodeId` (whose lease expired) and still in one of
   * `fromStates`; returns those it changed with their previous state, for the status events. A session
   * that another node claimed meanwhile, or that left those states, is not touched.
   */
  async markInterrupted(
    nodeId: string,
    options: { fromStates: readonly SessionState[]; updatedAt: string },
  ): Promise<InterruptedSession[]> {
    const changed: InterruptedSession[] = [];
    // One UPDATE per state, so each returned row carries the state it really left.
    for (const from of new Set(options.fromStates)) {
      if (from === 'interrupted') continue;
      const rows = await this.db
        .updateTable('sessions')
        .set({ state: 'interrupted', updated_at: options.updatedAt })
        .where('node_id', '=', nodeId)
        .where('state', '=', from)
        .returning('id')
        .execute();
      for (const row of rows) changed.push({ id: row.id, from });
    }
    return changed;
  }

  /** What an owner's sessions have cost in all. */
  async costByOwner(owner: string): Promise<number> {
    const row = await this.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.sum<number>('cost_usd').as('cost'))
      .where('owner', '=', owner)
      .executeTakeFirst();
    return Number(row?.cost ?? 0);
  }

  /** Sessions, live sessions and usage summed per provider: of one owner's sessions, or of all. */
  async totalsByProvider(
    liveStates: readonly SessionState[],
    owner?: string,
  ): Promise<ProviderTotals[]> {
    let query = this.db.selectFrom('sessions');
    if (owner !== undefined) query = query.where('owner', '=', owner);
    const rows = await query
      .select((eb) => [
        'provider',
        eb.fn.countAll<number>().as('sessions'),
        eb.fn
          .sum<number>(
            liveStates.length === 0
              ? eb.lit(0)
              : eb
                  .case()
                  .when('state', 'in', [...liveStates])
                  .then(1)
                  .else(0)
                  .end(),
          )
          .as('active'),
        eb.fn.sum<number>('input_tokens').as('input_tokens'),
        eb.fn.sum<number>('output_tokens').as('output_tokens'),
        eb.fn.sum<number>('cost_usd').as('cost_usd'),
      ])
      .groupBy('provider')
      .execute();
    return rows.map((r) => ({
      provider: r.provider,
      sessions: Number(r.sessions),
      active: Number(r.active),
      usage: {
        inputTokens: Number(r.input_tokens),
        outputTokens: Number(r.output_tokens),
        costUsd: Math.round(Number(r.cost_usd) * 1e9) / 1e9,
      },
    }));
  }

  /** Deletes the events of sessions that ended (terminated or failed) before `cutoff`; returns how many. */
  async pruneEvents(cutoff: string): Promise<number> {
    const ended = this.endedBefore(cutoff).select('id');
    const result = await this.db
      .deleteFrom('events')
      .where('session_id', 'in', ended)
      .executeTakeFirst();
    // Their permission requests go with them.
    await this.db.deleteFrom('permission_requests').where('session_id', 'in', ended).execute();
    return Number(result.numDeletedRows);
  }

  /** Which of the sessions `ids` ended (terminated or failed) before `cutoff`. */
  async endedSessionIds(ids: readonly string[], cutoff: string): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await this.endedBefore(cutoff).select('id').where('id', 'in', ids).execute();
    return rows.map((r) => r.id);
  }

  /** The working directories of the sessions that did not end before `cutoff` (live, resumable, ended since). */
  async cwdsInUse(cutoff: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .select('cwd')
      .distinct()
      .where((eb) =>
        eb.or([eb('state', 'not in', ['terminated', 'failed']), eb('updated_at', '>=', cutoff)]),
      )
      .execute();
    return rows.map((r) => r.cwd);
  }

  private endedBefore(cutoff: string) {
    return this.db
      .selectFrom('sessions')
      .where('state', 'in', ['terminated', 'failed'])
      .where('updated_at', '<', cutoff);
  }

  async insertPermissionRequest(record: PermissionRequestRecord): Promise<void> {
    await this.db
      .insertInto('permission_requests')
      .values({
        session_id: record.sessionId,
        request_id: record.requestId,
        tool: record.tool,
        input: JSON.stringify(record.input ?? null),
        tool_use_id: record.toolUseId,
        state: record.state,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        resolved_at: record.resolvedAt,
        resolved_by: record.resolvedBy,
        reason: record.reason,
      })
      .execute();
  }

  async getPermissionRequest(
    sessionId: string,
    requestId: string,
  ): Promise<PermissionRequestRecord | undefined> {
    const row = await this.db
      .selectFrom('permission_requests')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    return row && fromPermissionRow(row);
  }

  /** A session's requests still waiting for an answer, oldest first. */
  async pendingPermissionRequests(sessionId: string): Promise<PermissionRequestRecord[]> {
    const rows = await this.db
      .selectFrom('permission_requests')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('state', '=', 'pending')
      .orderBy('created_at')
      .orderBy('request_id')
      .execute();
    return rows.map(fromPermissionRow);
  }

  /**
   * Settles a pending request in one conditional UPDATE: of two resolutions at once (a reply and the
   * timeout, or replies on two nodes) exactly one gets true. False when it was not pending.
   */
  async resolvePermissionRequest(
    sessionId: string,
    requestId: string,
    resolution: PermissionResolution,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('permission_requests')
      .set({
        state: resolution.allow ? 'allowed' : 'denied',
        resolved_at: resolution.resolvedAt,
        resolved_by: resolution.by,
        reason: resolution.reason ?? null,
      })
      .where('session_id', '=', sessionId)
      .where('request_id', '=', requestId)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Writes a batch of events in one transaction (the group commit). */
  async appendEvents(events: SessionEvent[], encoded: string[]): Promise<void> {
    if (events.length === 0) return;
    // No other transaction is ever open on the SQLite connection (this is the store's only one), and
    // this one runs to its end synchronously: it cannot interleave with a Kysely query.
    if (this.appendSqlite) return this.appendSqlite(events, encoded);
    await this.db.transaction().execute(async (trx) => {
      // 5 bound parameters a row; SQLite allows 32,766 a statement.
      for (let i = 0; i < events.length; i += 1000) {
        await trx
          .insertInto('events')
          .values(
            events.slice(i, i + 1000).map((e, j) => ({
              session_id: e.sessionId,
              seq: e.seq,
              type: e.type,
              payload: encoded[i + j],
              ts: e.ts,
            })),
          )
          .execute();
      }
    });
  }

  async readEvents(sessionId: string, afterSeq: number, limit: number): Promise<SessionEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .select('payload')
      .where('session_id', '=', sessionId)
      .where('seq', '>', afterSeq)
      .orderBy('seq')
      .limit(limit)
      .execute();
    return rows.map((r) => rememberEncoding(JSON.parse(r.payload) as SessionEvent, r.payload));
  }

  async lastSeq(sessionId: string): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.max('seq').as('last'))
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    return Number(row?.last ?? 0);
  }
}

/**
 * Kysely builds, and better-sqlite3 prepares, a new multi-row INSERT for every batch; one statement
 * prepared once and run per row costs half the CPU (bench/: 13 against 28 µs an event, 1,000 sessions).
 */
function preparedAppend(
  sqlite: Sqlite.Database,
): (events: SessionEvent[], encoded: string[]) => void {
  let insert: Sqlite.Statement | undefined;
  return (events, encoded) => {
    // Prepared on first use: the table exists only after the migrations ran.
    insert ??= sqlite.prepare(
      'insert into events (session_id, seq, type, payload, ts) values (?, ?, ?, ?, ?)',
    );
    const statement = insert;
    sqlite.transaction(() => {
      events.forEach((e, i) => statement.run(e.sessionId, e.seq, e.type, encoded[i], e.ts));
    })();
  };
}
