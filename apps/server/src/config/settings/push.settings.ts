import { parseSetting, type SettingsTable } from '@jelmore/contracts';

/**
 * Web Push from the dashboard (docs/push.md). Loaded by loadPush (policies/push.config.ts), which checks
 * the keys without ever echoing the private one: hence `custom` on every row.
 */
export const PUSH_SETTINGS: SettingsTable = {
  vapidPublicKey: {
    env: 'JELMORE_VAPID_PUBLIC_KEY',
    custom: true,
    defaultText: 'generated',
    description:
      "The VAPID public key (base64url, an uncompressed P-256 point), with `JELMORE_VAPID_PRIVATE_KEY`. Unset: a key pair is generated at first boot into the data dir's `vapid.json` (mode 0600). Nodes of a cluster must share one pair: set both. See [Web Push](push.md).",
  },
  vapidPrivateKey: {
    env: 'JELMORE_VAPID_PRIVATE_KEY',
    custom: true,
    secret: true,
    defaultText: 'generated',
    description: "The VAPID private key (base64url, 32 bytes): the public key's pair.",
  },
  vapidSubject: {
    env: 'JELMORE_VAPID_SUBJECT',
    file: 'push.vapid_subject',
    custom: true,
    default: 'mailto:jelmore@localhost',
    description:
      'Who push services may contact about this server: a `mailto:` address or an `https:` URL.',
  },
  pushTokenTtlSeconds: {
    env: 'JELMORE_PUSH_TOKEN_TTL_SECONDS',
    file: 'push.token_ttl_seconds',
    custom: true,
    parse: parseSetting.int,
    default: 600,
    description:
      "How long a notification's Allow and Deny actions work: each carries a single-use token bound to one permission request.",
  },
  pushTimeoutMs: {
    env: 'JELMORE_PUSH_TIMEOUT_MS',
    file: 'push.timeout_ms',
    custom: true,
    parse: parseSetting.int,
    default: 10_000,
    description: 'A push service that has not answered in this many ms fails the notification.',
  },
};
