import { JelmoreError } from '@jelmore/contracts';
import { checkWebhookTarget, type WebhookTarget } from '../../webhooks/webhook-events';
import { ConfigError } from '../config-error';

/** How deliveries are sent and retried (docs/webhooks.md). */
export interface WebhooksConfig {
  /** The file's operator-wide webhooks; the n-th has the id `config:<n>`. */
  targets: WebhookTarget[];
  /** First retry after this; each next one waits twice as long (capped at an hour). */
  retryBaseMs: number;
  /** Attempts in all before a delivery is failed. */
  maxAttempts: number;
  /** A receiver that answers nothing in this long fails the attempt. */
  timeoutMs: number;
  /** A key's webhooks may reach loopback and private networks too (the file's always may). */
  allowPrivateNetworks: boolean;
}

/**
 * `webhooks: [{ url, events, secret }]` of the file, with the delivery settings (settings/webhooks.settings).
 */
export function loadWebhooks(
  settings: {
    webhookRetryBaseMs: number;
    webhookMaxAttempts: number;
    webhookTimeoutMs: number;
    allowPrivateNetworks: boolean;
  },
  file: Record<string, unknown>,
  fileName = 'JELMORE_CONFIG',
): WebhooksConfig {
  const list = file.webhooks ?? [];
  if (!Array.isArray(list)) {
    throw new ConfigError(`Invalid configuration: ${fileName}: webhooks must be a list`);
  }
  const targets = list.map((raw, i) => {
    try {
      return checkWebhookTarget(raw, `webhooks[${i}].`);
    } catch (err) {
      if (!(err instanceof JelmoreError)) throw err;
      throw new ConfigError(`Invalid configuration: ${fileName}: ${err.message}`);
    }
  });
  return {
    targets,
    retryBaseMs: settings.webhookRetryBaseMs,
    maxAttempts: settings.webhookMaxAttempts,
    timeoutMs: settings.webhookTimeoutMs,
    allowPrivateNetworks: settings.allowPrivateNetworks,
  };
}
