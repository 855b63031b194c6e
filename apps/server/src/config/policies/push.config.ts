import { createECDH } from 'node:crypto';
import { ConfigError } from '../config-error';
import { PUSH_SETTINGS } from '../settings/push.settings';
import { loadPolicySettings } from './policy-settings';

/** A VAPID key pair, base64url as browsers and web-push take it. */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

/** Web Push (docs/push.md): the operator's keys, if set; else PushKeys makes them at first boot. */
export interface PushConfig {
  vapid?: VapidKeys;
  subject: string;
  tokenTtlSeconds: number;
  timeoutMs: number;
}

/** Env over the file's `push` over defaults; one ConfigError line for the first bad value. */
export function loadPush(
  env: Record<string, string | undefined>,
  file: Record<string, unknown>,
  fileName = 'JELMORE_CONFIG',
): PushConfig {
  const {
    values,
    where,
    positiveInt: int,
  } = loadPolicySettings(PUSH_SETTINGS, env, file, fileName);
  const subject = values.vapidSubject;
  if (typeof subject !== 'string' || !/^(mailto:[^\s@]+@\S+|https:\/\/\S+)$/.test(subject)) {
    throw new ConfigError(
      `Invalid configuration: ${where.vapidSubject} must be a mailto: address or an https: URL (got ${JSON.stringify(subject)})`,
    );
  }
  const publicKey = values.vapidPublicKey as string | undefined;
  const privateKey = values.vapidPrivateKey as string | undefined;
  if (!publicKey !== !privateKey) {
    throw new ConfigError(
      'Invalid configuration: set both JELMORE_VAPID_PUBLIC_KEY and JELMORE_VAPID_PRIVATE_KEY, or neither (a pair is then generated)',
    );
  }
  const vapid = publicKey && privateKey ? { publicKey, privateKey } : undefined;
  if (vapid) {
    const problem = vapidProblem(vapid);
    if (problem) throw new ConfigError(`Invalid configuration: ${problem}`);
  }
  return {
    ...(vapid ? { vapid } : {}),
    subject,
    tokenTtlSeconds: int('pushTokenTtlSeconds'),
    timeoutMs: int('pushTimeoutMs'),
  };
}

/**
 * What is wrong with a key pair, named by its variables, or undefined. Never quotes the private key:
 * the message is a log line.
 */
export function vapidProblem(
  keys: VapidKeys,
  names = { publicKey: 'JELMORE_VAPID_PUBLIC_KEY', privateKey: 'JELMORE_VAPID_PRIVATE_KEY' },
): string | undefined {
  const pub = base64url(keys.publicKey);
  if (!pub || pub.length !== 65 || pub[0] !== 4) {
    return `${names.publicKey} must be a base64url P-256 public key of 65 bytes (got ${JSON.stringify(keys.publicKey.slice(0, 100))})`;
  }
  const priv = base64url(keys.privateKey);
  if (!priv || priv.length !== 32) {
    return `${names.privateKey} must be a base64url P-256 private key of 32 bytes`;
  }
  try {
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(priv);
    if (!ecdh.getPublicKey().equals(pub)) {
      return `${names.privateKey} is not the private key of ${names.publicKey}`;
    }
  } catch {
    return `${names.privateKey} is not a valid P-256 private key`;
  }
  return undefined;
}

/** The bytes of strict base64url (no padding), or undefined. */
export function base64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  return Buffer.from(text, 'base64url');
}
