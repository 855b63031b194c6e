import { ErrorCode, JelmoreError, type SessionEvent } from '@jelmore/contracts';

/** What a webhook may ask for; `failed` is a status event to `failed`, the others are event types. */
export const WEBHOOK_EVENTS = ['permission_request', 'result', 'failed', 'child_session'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** The webhook event a session event is, if any. */
export function webhookEventOf(event: SessionEvent): WebhookEvent | undefined {
  if (event.type === 'status') return event.to === 'failed' ? 'failed' : undefined;
  return (WEBHOOK_EVENTS as readonly string[]).includes(event.type)
    ? (event.type as WebhookEvent)
    : undefined;
}

/** A webhook's fields, checked the same way from the config file and from POST /v1/webhooks. */
export interface WebhookTarget {
  url: string;
  events: WebhookEvent[];
  secret: string;
}

/** Throws a VALIDATION_FAILED JelmoreError naming the first bad field (`at` prefixes it). */
export function checkWebhookTarget(raw: unknown, at = ''): WebhookTarget {
  const bad = (field: string, what: string) =>
    new JelmoreError(ErrorCode.ValidationFailed, `${at}${field} ${what}`, { field });
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw bad('webhook', 'must be an object { url, events, secret }');
  }
  const { url, events, secret, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw bad(extra, 'is not one of url, events, secret');
  let parsed: URL | undefined;
  try {
    parsed = typeof url === 'string' ? new URL(url) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw bad('url', `must be an http or https URL (got ${JSON.stringify(url)})`);
  }
  if (
    !Array.isArray(events) ||
    events.length === 0 ||
    !events.every((e) => (WEBHOOK_EVENTS as readonly unknown[]).includes(e))
  ) {
    throw bad('events', `must be a non-empty list of ${WEBHOOK_EVENTS.join(', ')}`);
  }
  if (typeof secret !== 'string' || secret.length < 16 || secret.length > 256) {
    throw bad('secret', 'must be a string of 16 to 256 characters');
  }
  return { url: parsed.toString(), events: [...new Set(events as WebhookEvent[])], secret };
}
