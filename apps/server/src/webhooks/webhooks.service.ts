import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import type { Principal } from '../auth/api-keys.service';
import { type CommittedEvents, CommittedSessions } from '../common/committed-sessions';
import { WebhookDispatcher } from './webhook-dispatcher';
import { checkWebhookTarget, webhookEventOf } from './webhook-events';
import { checkPublicUrl } from '../common/outbound-network';
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
 * pending delivery row (WebhookDispatcher sends it), once in a cluster (see CommittedSessions).
 */
@Injectable()
export class WebhooksService implements OnModuleInit {
  private readonly logger = new Logger(WebhooksService.name);

  constructor(
    @Inject(WEBHOOKS_OPTIONS) private readonly options: WebhooksOptions,
    private readonly records: WebhookRecords,
    private readonly committed: CommittedSessions,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  onModuleInit(): void {
    this.committed.follow(
      webhookEventOf,
      (committed) => this.record(committed),
      'Webhook deliveries not recorded',
    );
  }

  async create(principal: Principal, raw: unknown): Promise<WebhookView> {
    const target = checkWebhookTarget(raw);
    await checkPublicUrl(target.url, 'url', this.options.allowPrivateNetworks);
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

  private async record({ session: record, owners, events }: CommittedEvents): Promise<void> {
    // What a delivery's body says of its session.
    const { id: sessionId, owner, provider, model, state } = record;
    const session = { id: sessionId, owner, provider, model, state };
    const webhooks = [...configWebhooks(this.options), ...(await this.records.webhooks())].filter(
      (w) => w.owner === null || owners.includes(w.owner),
    );
    const rows: NewDelivery[] = [];
    for (const webhook of webhooks) {
      for (const event of events) {
        const name = webhookEventOf(event);
        if (!name || !webhook.events.includes(name)) continue;
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
