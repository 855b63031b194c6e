import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { ErrorCode, JelmoreError, type SessionEvent } from '@jelmore/contracts';
import { type CommittedBatch, SessionsService } from '@jelmore/sessions';
import type { Principal } from '../auth/api-keys.service';
import { WebhookDispatcher } from './webhook-dispatcher';
import { checkWebhookTarget, webhookEventOf } from './webhook-events';
import { privateAddressOf, privateAddressRefused } from '../common/outbound-network';
import {
  type DeliveryRow,
  type NewDelivery,
  WebhookRecords,
  type WebhookRow,
} from './webhook-records';
import { configWebhooks, WEBHOOKS_OPTIONS, type WebhooksOptions } from './webhooks.constants';

/** A webhook as the API shows it: never its secret. */
export type WebhookView = Omit<WebhookRow, 'secret'>;

/** A delivery as the API shows it: the body stays in the store. */
export type DeliveryView = Omit<DeliveryRow, 'body' | 'webhookId'>;

/**
 * Per-key webhooks, and the outbox of every webhook: each committed event a webhook asks for becomes a
 * pending delivery row (WebhookDispatcher sends it). Only the node that commits an event sees it, so
 * each is recorded once in a cluster; the session never waits for any of this.
 */
@Injectable()
export class WebhooksService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WebhooksService.name);
  private subscription?: Subscription;

  constructor(
    @Inject(WEBHOOKS_OPTIONS) private readonly options: WebhooksOptions,
    private readonly records: WebhookRecords,
    private readonly sessions: SessionsService,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  onModuleInit(): void {
    this.subscription = this.sessions.committed$.subscribe((committed) => {
      if (committed.batch === 'end' || !committed.batch.some((e) => webhookEventOf(e))) return;
      this.record(committed).catch((err: unknown) =>
        this.logger.error(
          `Webhook deliveries of session ${committed.sessionId} not recorded: ${String(err)}`,
        ),
      );
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  async create(principal: Principal, raw: unknown): Promise<WebhookView> {
    const target = checkWebhookTarget(raw);
    const inside = this.options.allowPrivateNetworks
      ? undefined
      : await privateAddressOf(new URL(target.url));
    if (inside) {
      throw privateAddressRefused('url', inside);
    }
    const row: WebhookRow = {
      id: `wh_${randomUUID()}`,
      owner: principal.id,
      ...target,
      createdAt: new Date(this.now()).toISOString(),
    };
    await this.records.insertWebhook(row);
    this.logger.log(`Webhook ${row.id} created by ${principal.id}`);
    return view(row);
  }

  /** The caller's webhooks; an admin's: every key's and the config file's. */
  async list(principal: Principal): Promise<WebhookView[]> {
    const stored = await this.records.webhooks(principal.admin ? {} : { owner: principal.id });
    return [...(principal.admin ? configWebhooks(this.options) : []), ...stored].map(view);
  }

  async remove(principal: Principal, id: string): Promise<WebhookView> {
    const webhook = await this.visible(principal, id);
    if (webhook.owner === null) {
      throw new JelmoreError(ErrorCode.Forbidden, 'A webhook of the config file is removed there');
    }
    await this.records.deleteWebhook(id);
    this.logger.log(`Webhook ${id} deleted by ${principal.id}`);
    return view(webhook);
  }

  async deliveries(principal: Principal, id: string, limit = 100): Promise<DeliveryView[]> {
    await this.visible(principal, id);
    return (await this.records.deliveries(id, limit)).map(
      ({ body: _body, webhookId: _webhook, ...rest }) => rest,
    );
  }

  /** The webhook if the caller may see it; another key's is as unknown as a missing one (404). */
  private async visible(principal: Principal, id: string): Promise<WebhookRow> {
    const webhook =
      configWebhooks(this.options).find((w) => w.id === id) ??
      (await this.records.webhooks({ id }))[0];
    if (!webhook || (!principal.admin && webhook.owner !== principal.id)) {
      throw new JelmoreError(ErrorCode.NotFound, `No webhook '${id}'`);
    }
    return webhook;
  }

  private async record({ sessionId, record, batch }: CommittedBatch): Promise<void> {
    const events = (batch as SessionEvent[]).flatMap((event) => {
      const name = webhookEventOf(event);
      return name ? [{ event, name }] : [];
    });
    const session = record
      ? {
          id: record.id,
          owner: record.owner,
          provider: record.provider,
          model: record.model,
          state: record.state,
        }
      : await this.records.session(sessionId);
    if (!session) return;
    const admins = new Set(this.options.adminOwners);
    const webhooks = [...configWebhooks(this.options), ...(await this.records.webhooks())].filter(
      (w) => w.owner === null || admins.has(w.owner) || w.owner === session.owner,
    );
    const rows: NewDelivery[] = [];
    for (const webhook of webhooks) {
      for (const { event, name } of events) {
        if (!webhook.events.includes(name)) continue;
        const id = `whd_${randomUUID()}`;
        const body = JSON.stringify({ id, type: name, event, session });
        rows.push({ id, webhookId: webhook.id, sessionId, seq: event.seq, event: name, body });
      }
    }
    await this.records.insertDeliveries(rows, new Date(this.now()));
    if (rows.length > 0) this.dispatcher.kick();
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

function view({ secret: _secret, ...rest }: WebhookRow): WebhookView {
  return rest;
}
