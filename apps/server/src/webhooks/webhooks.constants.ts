import type { WebhooksConfig } from '../config/policies/webhooks.config';
import type { WebhookRow } from './webhook-records';

export const WEBHOOKS_OPTIONS = Symbol('WEBHOOKS_OPTIONS');

export interface WebhooksOptions extends WebhooksConfig {
  /** This node's id: who claims a delivery. */
  nodeId: string;
  /** Wall-clock ms; tests move it on. */
  now?: () => number;
}

/** The config file's webhooks as rows: the n-th is `config:<n>`, of no key. */
export function configWebhooks(options: WebhooksConfig): WebhookRow[] {
  return options.targets.map((t, i) => ({
    id: `config:${i}`,
    owner: null,
    ...t,
    createdAt: new Date(0).toISOString(),
  }));
}
