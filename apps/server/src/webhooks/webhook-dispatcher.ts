import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { WebhookRecords, type DeliveryRow, type WebhookRow } from './webhook-records';
import { postOutbound } from '../common/outbound-network';
import { signatureHeader } from './webhook-signature';
import { configWebhooks, WEBHOOKS_OPTIONS, type WebhooksOptions } from './webhooks.constants';

/** Deliveries claimed per round. */
const BATCH = 20;
/** A retry never waits longer than this. */
const MAX_BACKOFF_MS = 3_600_000;
/** The longest a claimed delivery waits between checks when nothing kicks the loop. */
const MAX_POLL_MS = 1_000;
/** Settled deliveries are kept this long, and pruned about this often. */
const KEEP_SETTLED_MS = 7 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

/**
 * Sends due deliveries: claims them in the store (one node each), POSTs them signed, and records each
 * attempt; a failed one is retried with exponential backoff until `maxAttempts`.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private again = false;
  private prunedAt = 0;
  private stopping = false;
  /** Aborts the attempts in flight at shutdown; their deliveries are released, not counted. */
  private readonly abort = new AbortController();

  constructor(
    @Inject(WEBHOOKS_OPTIONS) private readonly options: WebhooksOptions,
    private readonly records: WebhookRecords,
  ) {}

  onApplicationBootstrap(): void {
    const every = Math.min(MAX_POLL_MS, this.options.retryBaseMs);
    this.timer = setInterval(() => this.kick(), every);
    // Deliveries pending from before a restart go out at once.
    this.timer.unref();
    this.kick();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.abort.abort();
    await this.round;
  }

  /** Runs a round now, or right after the one running. */
  kick(): void {
    if (this.stopping) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.round = this.run()
      .catch((err: unknown) => this.logger.error(`Webhook round failed: ${String(err)}`))
      .finally(() => {
        this.round = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async run(): Promise<void> {
    if (this.now() - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = this.now();
      await this.records.prune(new Date(this.prunedAt - KEEP_SETTLED_MS));
    }
    for (;;) {
      const now = this.now();
      // The lease outlasts an attempt, so a node that dies mid-send frees it soon after.
      const lease = new Date(now + this.options.timeoutMs * 2 + 5_000);
      const due = await this.records.claimDue(this.options.nodeId, new Date(now), lease, BATCH);
      if (due.length === 0) return;
      const webhooks = await this.webhooks();
      await Promise.all(due.map((d) => this.attempt(d, webhooks.get(d.webhookId))));
      if (this.stopping) return;
    }
  }

  private async attempt(delivery: DeliveryRow, webhook: WebhookRow | undefined): Promise<void> {
    const attempts = delivery.attempts + 1;
    let status: number | undefined;
    let error: string | undefined;
    if (!webhook) {
      error = 'webhook removed';
    } else {
      try {
        status = await this.post(delivery, webhook);
        if (status < 200 || status >= 300) error = `answered ${status}`;
      } catch (err) {
        if (this.stopping) {
          await this.records.release(this.options.nodeId, [delivery.id]);
          return;
        }
        error = errorText(err);
      }
    }
    const now = this.now();
    const done = error === undefined;
    const last = !webhook || attempts >= this.options.maxAttempts;
    const backoff = Math.min(this.options.retryBaseMs * 2 ** (attempts - 1), MAX_BACKOFF_MS);
    await this.records.recordAttempt(
      delivery.id,
      {
        state: done ? 'delivered' : last ? 'failed' : 'pending',
        attempts,
        nextAttemptAt: new Date(done || last ? now : now + backoff),
        ...(status !== undefined ? { status } : {}),
        ...(error !== undefined ? { error } : {}),
      },
      new Date(now),
    );
    if (!done) {
      this.logger.warn(
        `Webhook delivery ${delivery.id} to ${delivery.webhookId} attempt ${attempts}: ${error}${last ? ' (failed for good)' : ''}`,
      );
    }
  }

  /** The receiver's status; throws when it cannot be reached or answers nothing in time. */
  private post(delivery: DeliveryRow, webhook: WebhookRow): Promise<number> {
    const signature = signatureHeader(webhook.secret, delivery.body, Math.floor(this.now() / 1000));
    return postOutbound(new URL(webhook.url), {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Jelmore-Webhooks',
        'jelmore-signature': signature,
        'jelmore-event': delivery.event,
        'jelmore-delivery': delivery.id,
      },
      body: delivery.body,
      signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      publicOnly: webhook.owner !== null && !this.options.allowPrivateNetworks,
    });
  }

  private async webhooks(): Promise<Map<string, WebhookRow>> {
    const all = [...configWebhooks(this.options), ...(await this.records.webhooks())];
    return new Map(all.map((w) => [w.id, w]));
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}

/** An aborted request says only "The operation was aborted"; its cause says whether it timed out.
 * Duck-typed: errors may come from another realm (e.g. under Jest), where `instanceof Error` is false. */
function errorText(err: unknown): string {
  const { message, cause } = (err ?? {}) as { message?: unknown; cause?: unknown };
  if ((cause as { name?: unknown } | undefined)?.name === 'TimeoutError') return 'timed out';
  return typeof message === 'string' ? message : String(err);
}
