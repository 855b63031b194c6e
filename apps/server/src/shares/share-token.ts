import { createHash, randomBytes } from 'node:crypto';

/** Every share token starts so: the API key guard tells one apart from a key and refuses it. */
export const SHARE_TOKEN_PREFIX = 'jls_';
/** 32 random bytes, base64url: 43 characters. */
export const SHARE_TOKEN_SOURCE = String.raw`jls_[A-Za-z0-9_-]{43}`;
const SHARE_TOKEN = new RegExp(`^${SHARE_TOKEN_SOURCE}$`);

/** A new unguessable token: 256 bits from the system's CSPRNG. */
export function mintShareToken(): string {
  return SHARE_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** What the store keeps of a token: its SHA-256 (hex). A read of the store opens no link. */
export function hashShareToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `token` is meant as a share token (its prefix), valid or not. */
export function isShareToken(token: string | undefined): token is string {
  return token?.startsWith(SHARE_TOKEN_PREFIX) ?? false;
}

/** Whether `token` has a share token's exact shape (checked before any store read). */
export function isWellFormedShareToken(token: string): boolean {
  return SHARE_TOKEN.test(token);
}
