import { Injectable } from '@nestjs/common';
import { PostgresAdapter, sql } from 'kysely';
import type { SessionState, Usage } from '@jelmore/contracts';
import { StoreConnection } from './store-connection';

/** One arm's session figures, summed over its sessions' rows. */
export interface ArmTotals {
  arm: string;
  sessions: number;
  active: number;
  turns: number;
  failures: number;
  usage: Usage;
}

/** The sessions of an experiment as rows: its arms' totals, and its turns' durations from their results. */
@Injectable()
export class ExperimentRecords {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
  }

  /** Per arm, of every session of the experiment (or of one owner's). */
  async totals(
    experiment: string,
    liveStates: readonly SessionState[],
    owner?: string,
  ): Promise<ArmTotals[]> {
    let query = this.db.selectFrom('sessions').where('experiment', '=', experiment);
    if (owner !== undefined) query = query.where('owner', '=', owner);
    const rows = await query
      .select((eb) => {
        // `in ()` is an error in PostgreSQL: no states count nothing.
        const count = (states: readonly SessionState[]) =>
          eb.fn.sum<number>(
            states.length === 0
              ? eb.lit(0)
              : eb
                  .case()
                  .when('state', 'in', [...states])
                  .then(1)
                  .else(0)
                  .end(),
          );
        return [
          'experiment_arm',
          eb.fn.countAll<number>().as('sessions'),
          count(liveStates).as('active'),
          count(['failed']).as('failures'),
          eb.fn.sum<number>('turns').as('turns'),
          eb.fn.sum<number>('input_tokens').as('input_tokens'),
          eb.fn.sum<number>('output_tokens').as('output_tokens'),
          eb.fn.sum<number>('cost_usd').as('cost_usd'),
        ];
      })
      .groupBy('experiment_arm')
      .execute();
    return rows.map((r) => ({
      arm: r.experiment_arm ?? '',
      sessions: Number(r.sessions),
      active: Number(r.active),
      turns: Number(r.turns),
      failures: Number(r.failures),
      usage: {
        inputTokens: Number(r.input_tokens),
        outputTokens: Number(r.output_tokens),
        costUsd: Math.round(Number(r.cost_usd) * 1e9) / 1e9,
      },
    }));
  }

  /**
   * Per arm, the durations (ms) of the turns that ran to their end, from the `result` events still
   * kept: only those two fields of each payload are read, never the reply text.
   */
  async turnDurations(experiment: string, owner?: string): Promise<Map<string, number[]>> {
    const postgres = this.db.getExecutor().adapter instanceof PostgresAdapter;
    const field = (name: string) =>
      postgres
        ? sql<unknown>`(events.payload::json ->> ${sql.lit(name)})`
        : sql<unknown>`json_extract(events.payload, ${sql.lit(`$.${name}`)})`;
    let query = this.db
      .selectFrom('events')
      .innerJoin('sessions', 'sessions.id', 'events.session_id')
      .where('sessions.experiment', '=', experiment)
      .where('events.type', '=', 'result');
    if (owner !== undefined) query = query.where('sessions.owner', '=', owner);
    const rows = await query
      .select([
        'sessions.experiment_arm as arm',
        field('durationMs').as('duration'),
        field('interrupted').as('interrupted'),
      ])
      .execute();
    const durations = new Map<string, number[]>();
    for (const row of rows) {
      // SQLite's json_extract gives 1 for true, PostgreSQL's ->> 'true'.
      if (row.interrupted === 1 || row.interrupted === 'true' || row.interrupted === true) continue;
      const ms = Number(row.duration);
      if (!row.arm || !Number.isFinite(ms)) continue;
      durations.set(row.arm, [...(durations.get(row.arm) ?? []), ms]);
    }
    return durations;
  }
}
