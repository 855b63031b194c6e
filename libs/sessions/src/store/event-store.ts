import { Injectable } from '@nestjs/common';
import type Sqlite from 'better-sqlite3';
import type { SessionEvent } from '@jelmore/contracts';
import { rememberEncoding } from '../events/encoded-event';
import { endedSessionsBefore } from './session-store';
import { StoreConnection } from './store-connection';

/** Sessions' event logs: the group commit's writes, pages read back in seq order, and retention. */
@Injectable()
export class EventStore {
  /** SQLite: the group commit's insert, prepared once, in one synchronous transaction per batch. */
  private readonly appendSqlite?: (events: SessionEvent[], encoded: string[]) => void;

  constructor(private readonly connection: StoreConnection) {
    if (connection.sqlite) this.appendSqlite = preparedAppend(connection.sqlite);
  }

  private get db() {
    return this.connection.db;
  }

  /** Writes a batch of events in one transaction (the group commit). */
  async appendEvents(events: SessionEvent[], encoded: string[]): Promise<void> {
    if (events.length === 0) return;
    // No other transaction is ever open on the SQLite connection (this is the store's only one), and
    // this one runs to its end synchronously: it cannot interleave with a Kysely query.
    if (this.appendSqlite) {
      const catchUp = this.connection.walCatchUp();
      if (catchUp) await catchUp;
      return this.appendSqlite(events, encoded);
    }
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
    const [row] = await this.connection.rows(
      this.db
        .selectFrom('events')
        .select((eb) => eb.fn.max('seq').as('last'))
        .where('session_id', '=', sessionId),
    );
    return Number(row?.last ?? 0);
  }

  /** The last seq of each of `sessionIds` that has events, in one query per 500 (a list's sessions). */
  async lastSeqs(sessionIds: readonly string[]): Promise<Map<string, number>> {
    const last = new Map<string, number>();
    for (let i = 0; i < sessionIds.length; i += 500) {
      const rows = await this.connection.rows(
        this.db
          .selectFrom('events')
          .select((eb) => ['session_id', eb.fn.max('seq').as('last')])
          .where('session_id', 'in', sessionIds.slice(i, i + 500))
          .groupBy('session_id'),
      );
      for (const row of rows) last.set(row.session_id, Number(row.last));
    }
    return last;
  }

  /** Deletes the events of sessions that ended (terminated or failed) before `cutoff`; returns how many. */
  async pruneEvents(cutoff: string): Promise<number> {
    const ended = endedSessionsBefore(this.db, cutoff).select('id');
    const result = await this.db
      .deleteFrom('events')
      .where('session_id', 'in', ended)
      .executeTakeFirst();
    // Their permission requests go with them.
    await this.db.deleteFrom('permission_requests').where('session_id', 'in', ended).execute();
    return Number(result.numDeletedRows);
  }
}

/**
 * Kysely builds, and better-sqlite3 prepares, a new multi-row INSERT for every batch; one statement
 * prepared once and run per row costs half the CPU (bench/: 13 against 28 µs an event, 1,000 sessions).
 */
function preparedAppend(
  sqlite: Sqlite.Database,
): (events: SessionEvent[], encoded: string[]) => void {
  let append: ((events: SessionEvent[], encoded: string[]) => void) | undefined;
  return (events, encoded) => {
    // Prepared on first use: the table exists only after the migrations ran. The transaction's
    // wrapper is made once too: better-sqlite3 wraps four functions for each one it is asked for.
    if (!append) {
      const insert = sqlite.prepare(
        'insert into events (session_id, seq, type, payload, ts) values (?, ?, ?, ?, ?)',
      );
      append = sqlite.transaction((batch: SessionEvent[], texts: string[]) => {
        for (let i = 0; i < batch.length; i++) {
          const e = batch[i];
          insert.run(e.sessionId, e.seq, e.type, texts[i], e.ts);
        }
      });
    }
    append(events, encoded);
  };
}
