import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { StoreConnection, type WebhookDeliveriesTable } from '@jelmore/sessions';
import type { WebhookEvent } from './webhook-events';

/** A per-key webhook as stored (the secret stays in the row: it signs every delivery). */
export interface WebhookRow {
  id: string;
  owner: string | null;
  url: string;
  events: WebhookEvent[];
  secret: string;
  createdAt: string;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  id: string;
  webhookId: string;
  sessionId: string;
  seq: number;
  event: WebhookEvent;
  body: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewDelivery = Pick<
  DeliveryRow,
  'id' | 'webhookId' | 'sessionId' | 'seq' | 'event' | 'body'
>;

/** Webhooks and their deliveries in the shared store: what makes a delivery durable and claimed once. */
@Injectable()
export class WebhookRecords {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
  }

  async insertWebhook(row: WebhookRow): Promise<void> {
    await this.db
      .insertInto('webhooks')
      .values({
        id: row.id,
        owner: row.owner,
        url: row.url,
        events: JSON.stringify(row.events),
        secret: row.secret,
        created_at: row.createdAt,
      })
      .execute();
  }

  /** Every stored webhook, or one owner's, or the one of an id. */
  async webhooks(filter: { owner?: string; id?: string } = {}): Promise<WebhookRow[]> {
    let query = this.db.selectFrom('webhooks').selectAll().orderBy('created_at');
    if (filter.owner !== undefined) query = query.where('owner', '=', filter.owner);
    if (filter.id !== undefined) query = query.where('id', '=', filter.id);
    return (await query.execute()).map((r) => ({
      id: r.id,
      owner: r.owner,
      url: r.url,
      events: JSON.parse(r.events) as WebhookEvent[],
      secret: r.secret,
      createdAt: r.created_at,
    }));
  }

  /** Removes the webhook and its deliveries (pending ones are never sent). */
  async deleteWebhook(id: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      await trx.deleteFrom('webhooks').where('id', '=', id).execute();
    });
  }

  /** Adds pending deliveries; one already there for the same webhook and event is kept as it is. */
  async insertDeliveries(rows: NewDelivery[], now: Date): Promise<void> {
    if (rows.length === 0) return;
    const at = now.toISOString();
    await this.db
      .insertInto('webhook_deliveries')
      .values(
        rows.map((r) => ({
          id: r.id,
          webhook_id: r.webhookId,
          session_id: r.sessionId,
          seq: r.seq,
          event: r.event,
          body: r.body,
          state: 'pending',
          attempts: 0,
          next_attempt_at: at,
          created_at: at,
          updated_at: at,
        })),
      )
      .onConflict((oc) => oc.columns(['webhook_id', 'session_id', 'seq']).doNothing())
      .execute();
  }

  /**
   * Claims up to `limit` due deliveries for `node` until `leaseUntil`. Each claim is a conditional
   * update, so when nodes share the store exactly one of them gets each delivery.
   */
  async claimDue(node: string, now: Date, leaseUntil: Date, limit: number): Promise<DeliveryRow[]> {
    const at = now.toISOString();
    const due = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', at)
      .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
      .orderBy('next_attempt_at')
      .limit(limit)
      .execute();
    const claimed: DeliveryRow[] = [];
    for (const { id } of due) {
      const result = await this.db
        .updateTable('webhook_deliveries')
        .set({ claimed_by: node, lease_until: leaseUntil.toISOString() })
        .where('id', '=', id)
        .where('state', '=', 'pending')
        .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', at)]))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) continue;
      const row = await this.delivery(id);
      if (row) claimed.push(row);
    }
    return claimed;
  }

  /** An attempt's outcome; the lease ends with it. */
  async recordAttempt(
    id: string,
    outcome: {
      state: DeliveryState;
      attempts: number;
      nextAttemptAt: Date;
      status?: number;
      error?: string;
    },
    now: Date,
  ): Promise<void> {
    await this.db
      .updateTable('webhook_deliveries')
      .set({
        state: outcome.state,
        attempts: outcome.attempts,
        next_attempt_at: outcome.nextAttemptAt.toISOString(),
        last_status: outcome.status ?? null,
        last_error: outcome.error ?? null,
        claimed_by: null,
        lease_until: null,
        updated_at: now.toISOString(),
      })
      .where('id', '=', id)
      .execute();
  }

  /** Gives back this node's claims unsent (shutdown), so another node or the next start sends them. */
  async release(node: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('webhook_deliveries')
      .set({ claimed_by: null, lease_until: null })
      .where('claimed_by', '=', node)
      .where('id', 'in', ids)
      .execute();
  }

  /** Drops settled deliveries last changed before `before`: the record is for recent history. */
  async prune(before: Date): Promise<number> {
    const result = await this.db
      .deleteFrom('webhook_deliveries')
      .where('state', '!=', 'pending')
      .where('updated_at', '<', before.toISOString())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async delivery(id: string): Promise<DeliveryRow | undefined> {
    const row = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row && toDelivery(row);
  }

  /** A webhook's deliveries, newest first. */
  async deliveries(webhookId: string, limit: number): Promise<DeliveryRow[]> {
    const rows = await this.db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('webhook_id', '=', webhookId)
      .orderBy('created_at', 'desc')
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toDelivery);
  }
}

function toDelivery(r: Selectable<WebhookDeliveriesTable>): DeliveryRow {
  return {
    id: r.id,
    webhookId: r.webhook_id,
    sessionId: r.session_id,
    seq: Number(r.seq),
    event: r.event as WebhookEvent,
    body: r.body,
    state: r.state as DeliveryState,
    attempts: Number(r.attempts),
    nextAttemptAt: r.next_attempt_at,
    lastStatus: r.last_status,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
