import { Inject, Injectable, Logger } from '@nestjs/common';
import { Agent } from 'node:https';
import { sendNotification, WebPushError } from 'web-push';
import { publicLookup, refusePrivateLiteral } from '../common/outbound-network';
import { PushKeys } from './push-keys';
import type { PushPayload } from './push-payload';
import { PushRecords, type PushSubscriptionRow } from './push-records';
import { PUSH_OPTIONS, type PushOptions } from './push.constants';

/**
 * Encrypts and sends one notification to one subscription (web-push: aes128gcm, VAPID). A push
 * service answering 404 or 410 says the subscription is gone: it is deleted. No retries: a late
 * notification of a request that timed out helps nobody.
 */
@Injectable()
export class PushSender {
  private readonly logger = new Logger(PushSender.name);
  private readonly publicAgent = new Agent({ lookup: publicLookup });

  constructor(
    @Inject(PUSH_OPTIONS) private readonly options: PushOptions,
    private readonly keys: PushKeys,
    private readonly records: PushRecords,
  ) {}

  async send(subscription: PushSubscriptionRow, payload: PushPayload): Promise<boolean> {
    try {
      if (!this.options.allowPrivateNetworks) refusePrivateLiteral(new URL(subscription.endpoint));
      await sendNotification(
        {
          endpoint: subscription.endpoint,
          keys: { p256dh: subscription.p256dh, auth: subscription.auth },
        },
        JSON.stringify(payload),
        {
          vapidDetails: { subject: this.options.subject, ...this.keys.pair },
          // A permission request's notification is no use once its token expired.
          TTL: payload.kind === 'permission_request' ? this.options.tokenTtlSeconds : 24 * 3600,
          urgency: payload.kind === 'permission_request' ? 'high' : 'normal',
          timeout: this.options.timeoutMs,
          contentEncoding: 'aes128gcm',
          // Checked when the socket connects too: a name may resolve inside after it was registered.
          ...(this.options.allowPrivateNetworks ? {} : { agent: this.publicAgent }),
        },
      );
      return true;
    } catch (err) {
      if (err instanceof WebPushError && (err.statusCode === 404 || err.statusCode === 410)) {
        await this.records.deleteSubscription(subscription.id);
        this.logger.log(
          `Push subscription ${subscription.id} is gone (${err.statusCode}): deleted`,
        );
      } else {
        const status = err instanceof WebPushError ? ` (${err.statusCode})` : '';
        this.logger.warn(
          `Notification to push subscription ${subscription.id} not sent${status}: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return false;
    }
  }
}
