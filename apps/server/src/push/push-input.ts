import { ValidationError } from '@jelmore/contracts';
import { base64url } from '../config/policies/push.config';

/** A browser's PushSubscription as `subscription.toJSON()` gives it (expirationTime is ignored). */
export interface SubscriptionInput {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** An answer from a notification: the ids are the ones the notification named, checked against the token. */
export interface ActionInput {
  allow: boolean;
  sessionId?: string;
  requestId?: string;
}

const MAX_ENDPOINT = 2048;

/** Throws VALIDATION_FAILED naming the first bad field. */
export function checkSubscription(raw: unknown): SubscriptionInput {
  const bad = (field: string, what: string) => new ValidationError(`${field} ${what}`, { field });
  if (!isObject(raw)) throw bad('subscription', 'must be an object { endpoint, keys }');
  const { endpoint, keys, expirationTime: _expiry, ...rest } = raw;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw bad(extra, 'is not one of endpoint, keys, expirationTime');
  let url: URL | undefined;
  try {
    url =
      typeof endpoint === 'string' && endpoint.length <= MAX_ENDPOINT
        ? new URL(endpoint)
        : undefined;
  } catch {
    url = undefined;
  }
  // Push services are https (RFC 8030), and web-push speaks nothing else.
  if (!url || url.protocol !== 'https:') {
    throw bad('endpoint', `must be an https URL of at most ${MAX_ENDPOINT} characters`);
  }
  if (!isObject(keys)) throw bad('keys', 'must be an object { p256dh, auth }');
  const p256dh = typeof keys.p256dh === 'string' ? base64url(keys.p256dh) : undefined;
  if (!p256dh || p256dh.length !== 65 || p256dh[0] !== 4) {
    throw bad('keys.p256dh', 'must be a base64url P-256 public key of 65 bytes');
  }
  const auth = typeof keys.auth === 'string' ? base64url(keys.auth) : undefined;
  if (!auth || auth.length !== 16) {
    throw bad('keys.auth', 'must be a base64url secret of 16 bytes');
  }
  return {
    endpoint: url.toString(),
    keys: { p256dh: keys.p256dh as string, auth: keys.auth as string },
  };
}

export function checkAction(raw: unknown): ActionInput {
  const bad = (field: string, what: string) => new ValidationError(`${field} ${what}`, { field });
  if (!isObject(raw)) throw bad('body', 'must be an object { allow }');
  const { allow, sessionId, requestId, ...rest } = raw;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) throw bad(extra, 'is not one of allow, sessionId, requestId');
  if (typeof allow !== 'boolean') throw bad('allow', 'must be true or false');
  for (const [field, value] of [
    ['sessionId', sessionId],
    ['requestId', requestId],
  ] as const) {
    if (value !== undefined && (typeof value !== 'string' || value.length > 200)) {
      throw bad(field, 'must be a string');
    }
  }
  return {
    allow,
    ...(sessionId !== undefined ? { sessionId: sessionId as string } : {}),
    ...(requestId !== undefined ? { requestId: requestId as string } : {}),
  };
}

function isObject(raw: unknown): raw is Record<string, unknown> {
  return !!raw && typeof raw === 'object' && !Array.isArray(raw);
}
