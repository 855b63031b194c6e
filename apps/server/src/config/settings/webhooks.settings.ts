import { IsInt, Min } from 'class-validator';
import { parseSetting, type SettingsTable } from '@jelmore/contracts';

/** How webhook deliveries are sent and retried (docs/webhooks.md); the webhooks are `webhooks` of the file. */
export const WEBHOOK_SETTINGS: SettingsTable = {
  webhookRetryBaseMs: {
    env: 'JELMORE_WEBHOOK_RETRY_BASE_MS',
    file: 'webhook_retry_base_ms',
    parse: parseSetting.int,
    default: 10_000,
    rules: [IsInt(), Min(1)],
    description:
      'A failed delivery is tried again after this many ms, each next time twice as long (at most an hour). See [Webhooks](webhooks.md).',
  },
  webhookMaxAttempts: {
    env: 'JELMORE_WEBHOOK_MAX_ATTEMPTS',
    file: 'webhook_max_attempts',
    parse: parseSetting.int,
    default: 8,
    rules: [IsInt(), Min(1)],
    description: 'Attempts in all before a delivery is marked `failed`.',
  },
  webhookTimeoutMs: {
    env: 'JELMORE_WEBHOOK_TIMEOUT_MS',
    file: 'webhook_timeout_ms',
    parse: parseSetting.int,
    default: 10_000,
    rules: [IsInt(), Min(1)],
    description: 'A receiver that has not answered in this many ms fails the attempt.',
  },
};
