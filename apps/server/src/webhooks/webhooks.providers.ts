import type { Provider } from '@nestjs/common';
import type { JelmoreConfig } from '../config/jelmore.config';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookRecords } from './webhook-records';
import { WEBHOOKS_OPTIONS, type WebhooksOptions } from './webhooks.constants';
import { WebhooksService } from './webhooks.service';

export { WebhooksController } from './webhooks.controller';

/** The outbox fed by committed events and its sender; in the app module, beside SessionsService. */
export function webhookProviders(config: JelmoreConfig): Provider[] {
  const options: WebhooksOptions = {
    ...config.webhooks,
    nodeId: config.nodeId,
  };
  return [
    { provide: WEBHOOKS_OPTIONS, useValue: options },
    WebhookRecords,
    WebhookDispatcher,
    WebhooksService,
  ];
}
