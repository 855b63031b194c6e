import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { NotFoundError } from '@jelmore/contracts';
import type { Principal } from '../auth/api-keys.service';
import { type CommittedEvents, CommittedSessions } from '../common/committed-sessions';
import { PushActions } from './push-actions';
import { checkPublicUrl } from '../common/outbound-network';
import { checkSubscription } from './push-input';
import { payloadFor, pushKindOf } from './push-payload';
import { PushRecords, type PushSubscriptionRow } from './push-records';
import { PushSender } from './push-sender';
import { PUSH_OPTIONS, type PushOptions } from './push.constants';

/** A subscription as the API shows it: its keys stay in the store. */
export type PushSubscriptionView = Pick<
  PushSubscriptionRow,
  'id' | 'owner' | 'endpoint' | 'createdAt'
>;

/**
 * Per-key push subscriptions, and the notifications of committed events: a permission request (with
 * an action token per key told), a turn's result, a failure; once in a cluster (see CommittedSessions).
 */
@Injectable()
export class PushService implements OnModuleInit {
  private readonly logger = new Logger(PushService.name);

  constructor(
    @Inject(PUSH_OPTIONS) private readonly options: PushOptions,
    private readonly records: PushRecords,
    private readonly committed: CommittedSessions,
    private readonly actions: PushActions,
    private readonly sender: PushSender,
  ) {}

  onModuleInit(): void {
    this.committed.follow(
      pushKindOf,
      (committed) => this.notify(committed),
      'Notifications not sent',
    );
  }

  async subscribe(principal: Principal, raw: unknown): Promise<PushSubscriptionView> {
    const input = checkSubscription(raw);
    await checkPublicUrl(input.endpoint, 'endpoint', this.options.allowPrivateNetworks);
    const row = await this.records.upsertSubscription({
      id: `push_${randomUUID()}`,
      owner: principal.id,
      endpoint: input.endpoint,
      ...input.keys,
      createdAt: new Date().toISOString(),
    });
    this.logger.log(`Push subscription ${row.id} added for ${principal.id}`);
    return view(row);
  }

  /** The caller's subscriptions; an admin's: every key's. */
  async list(principal: Principal): Promise<PushSubscriptionView[]> {
    const rows = await this.records.subscriptions(
      principal.admin ? {} : { owners: [principal.id] },
    );
    return rows.map(view);
  }

  async remove(principal: Principal, id: string): Promise<PushSubscriptionView> {
    const [row] = await this.records.subscriptions({ id });
    // Another key's is as unknown as a missing one.
    if (!row || (!principal.admin && row.owner !== principal.id)) {
      throw new NotFoundError(`No push subscription '${id}'`);
    }
    await this.records.deleteSubscription(id);
    return view(row);
  }

  private async notify({ session, owners, events }: CommittedEvents): Promise<void> {
    const subscriptions = await this.records.subscriptions({ owners });
    if (subscriptions.length === 0) return;
    const byOwner = new Map<string, PushSubscriptionRow[]>();
    for (const s of subscriptions) byOwner.set(s.owner!, [...(byOwner.get(s.owner!) ?? []), s]);
    const sends: Array<Promise<boolean>> = [];
    for (const event of events) {
      for (const [owner, targets] of byOwner) {
        const action =
          event.type === 'permission_request'
            ? await this.actions.issue(session.id, event.requestId, owner)
            : undefined;
        const payload = payloadFor(event, { id: session.id, title: session.title }, action);
        sends.push(...targets.map((t) => this.sender.send(t, payload)));
      }
    }
    await Promise.all(sends);
  }
}

function view({ id, owner, endpoint, createdAt }: PushSubscriptionRow): PushSubscriptionView {
  return { id, owner, endpoint, createdAt };
}
