import { Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { SessionState, Usage } from '@jelmore/contracts';
import type { Database } from './schema';
import type { SessionRecord } from './session-record';
import { fromRow, type SessionRow, toRow } from './session-rows';
import { StoreConnection } from './store-connection';

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

/**
 * The sessions' rows: their state, owner node and usage, and the queries over them (listing, claims,
 * totals). Their events are EventStore's, their permission requests PermissionRequestStore's.
 */
@Injectable()
export class SessionStore {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
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
    const [row] = await this.connection.rows(
      this.db.selectFrom('sessions').selectAll().where('id', '=', id),
    );
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
    return (await this.connection.rows(query)).map(fromRow);
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

  /** Which of the sessions `ids` ended (terminated or failed) before `cutoff`. */
  async endedSessionIds(ids: readonly string[], cutoff: string): Promise<string[]> {
    if (ids.length === 0) return [];
    const rows = await endedSessionsBefore(this.db, cutoff)
      .select('id')
      .where('id', 'in', ids)
      .execute();
    return rows.map((r) => r.id);
  }

  /** The sessions the agent of `parentId` started (delegation), not its forks; newest first. */
  async childrenOf(parentId: string): Promise<SessionRecord[]> {
    const rows = await this.connection.rows(
      this.db
        .selectFrom('sessions')
        .selectAll()
        .where('parent_id', '=', parentId)
        .where('forked_from_turn', 'is', null)
        .orderBy('created_at', 'desc'),
    );
    return rows.map(fromRow);
  }

  /** The sessions that ended before `cutoff` and still have a repository (worktree, checkpoints). */
  async endedWithRepository(cutoff: string): Promise<SessionRecord[]> {
    const rows = await endedSessionsBefore(this.db, cutoff)
      .selectAll()
      .where('git', 'is not', null)
      .execute();
    return rows.map(fromRow);
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
}

/** The sessions that ended (terminated or failed) before `cutoff`: a query to select from. */
export function endedSessionsBefore(db: Kysely<Database>, cutoff: string) {
  return db
    .selectFrom('sessions')
    .where('state', 'in', ['terminated', 'failed'])
    .where('updated_at', '<', cutoff);
}
