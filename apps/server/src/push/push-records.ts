import { Injectable } from '@nestjs/common';
import { StoreConnection } from '@jelmore/sessions';

/** A browser's push subscription, as stored. */
export interface PushSubscriptionRow {
  id: string;
  owner: string | null;
  endpoint: string;
  p256dh: string;
  auth: string;
  createdAt: string;
}

/** A notification's answer to one permission request; the token itself is never stored. */
export interface PushTokenRow {
  tokenHash: string;
  sessionId: string;
  requestId: string;
  owner: string | null;
  expiresAt: string;
  usedAt: string | null;
}

/** Subscriptions and action tokens in the shared store, so any node of a cluster can use them. */
@Injectable()
export class PushRecords {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
  }

  /** Adds the subscription, or gives an endpoint already stored its new keys and owner. */
  async upsertSubscription(row: PushSubscriptionRow): Promise<PushSubscriptionRow> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('push_subscriptions').where('endpoint', '=', row.endpoint).execute();
      await trx
        .insertInto('push_subscriptions')
        .values({
          id: row.id,
          owner: row.owner,
          endpoint: row.endpoint,
          p256dh: row.p256dh,
          auth: row.auth,
          created_at: row.createdAt,
        })
        .execute();
    });
    return row;
  }

  /** Every subscription, or those of some owners, or the one of an id. */
  async subscriptions(
    filter: { owners?: Array<string | null>; id?: string } = {},
  ): Promise<PushSubscriptionRow[]> {
    let query = this.db.selectFrom('push_subscriptions').selectAll().orderBy('created_at');
    if (filter.id !== undefined) query = query.where('id', '=', filter.id);
    if (filter.owners !== undefined) {
      const keys = filter.owners.filter((o): o is string => o !== null);
      const orNull = filter.owners.includes(null);
      if (keys.length === 0 && !orNull) return [];
      query = query.where((eb) =>
        eb.or([
          ...(keys.length ? [eb('owner', 'in', keys)] : []),
          ...(orNull ? [eb('owner', 'is', null)] : []),
        ]),
      );
    }
    return (await query.execute()).map((r) => ({
      id: r.id,
      owner: r.owner,
      endpoint: r.endpoint,
      p256dh: r.p256dh,
      auth: r.auth,
      createdAt: r.created_at,
    }));
  }

  async deleteSubscription(id: string): Promise<void> {
    await this.db.deleteFrom('push_subscriptions').where('id', '=', id).execute();
  }

  async insertToken(row: PushTokenRow, now: Date): Promise<void> {
    await this.db
      .insertInto('push_tokens')
      .values({
        token_hash: row.tokenHash,
        session_id: row.sessionId,
        request_id: row.requestId,
        owner: row.owner,
        expires_at: row.expiresAt,
        used_at: null,
        created_at: now.toISOString(),
      })
      .execute();
  }

  async token(tokenHash: string): Promise<PushTokenRow | undefined> {
    const r = await this.db
      .selectFrom('push_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return (
      r && {
        tokenHash: r.token_hash,
        sessionId: r.session_id,
        requestId: r.request_id,
        owner: r.owner,
        expiresAt: r.expires_at,
        usedAt: r.used_at,
      }
    );
  }

  /**
   * Marks the token used if it is unused and unexpired: a conditional update, so of two answers racing
   * (two nodes, two clicks) exactly one claims it.
   */
  async claimToken(tokenHash: string, now: Date): Promise<boolean> {
    const at = now.toISOString();
    const result = await this.db
      .updateTable('push_tokens')
      .set({ used_at: at })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', at)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Gives a claimed token back: its answer reached no agent, so nothing was decided. */
  async releaseToken(tokenHash: string): Promise<void> {
    await this.db
      .updateTable('push_tokens')
      .set({ used_at: null })
      .where('token_hash', '=', tokenHash)
      .execute();
  }

  /** Drops tokens expired before `before` (until then a reuse is told USED or EXPIRED, not INVALID). */
  async pruneTokens(before: Date): Promise<void> {
    await this.db
      .deleteFrom('push_tokens')
      .where('expires_at', '<', before.toISOString())
      .execute();
  }
}
