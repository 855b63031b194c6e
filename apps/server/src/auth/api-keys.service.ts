import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { JelmoreConfig, keyDigest } from '../config/jelmore.config';
import { isShareToken } from '../shares/share-token';

/** Who a request acts for. */
export interface Principal {
  id: string;
  admin: boolean;
  /** A delegating session's agent (DelegationTokens): acts only on the sessions that session starts. */
  delegatedBy?: string;
}

/** With no keys configured (a loopback-only server), every caller acts as this admin. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({ id: 'local', admin: true });

/** The ids of the keys that see every key's sessions: the admin keys; without keys, the local admin. */
export function adminOwners(config: Pick<JelmoreConfig, 'apiKeys'>): string[] {
  return config.apiKeys.length
    ? config.apiKeys.filter((k) => k.admin).map((k) => k.id)
    : [LOCAL_PRINCIPAL.id];
}

interface StoredKey {
  principal: Principal;
  digest: Buffer;
}

/**
 * The API keys of JELMORE_API_KEYS(_FILE), checked in constant time against their digests: the keys
 * themselves are neither kept nor logged.
 */
@Injectable()
export class ApiKeysService {
  private readonly keys: StoredKey[];

  constructor(config: JelmoreConfig) {
    this.keys = config.apiKeys.map((k) => ({
      principal: { id: k.id, admin: k.admin },
      digest: Buffer.from(k.digest, 'hex'),
    }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The principal for a presented key, or undefined. Every stored key is compared, match or not. */
  authenticate(token: string | undefined): Principal | undefined {
    // Not even a keyless server takes a share link's token for a key (a Socket.IO handshake, a body's size).
    if (isShareToken(token)) return undefined;
    if (!this.enabled) return LOCAL_PRINCIPAL;
    if (!token) return undefined;
    const presented = Buffer.from(keyDigest(token), 'hex');
    let found: Principal | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, presented)) found = key.principal;
    }
    return found;
  }
}

/**
 * 403 SHARE_TOKEN_READ_ONLY when a share link's token is presented as a key (REST, the Socket.IO
 * handshake): refused by name, not as a bad key, and not counted as a failed authentication.
 */
export function shareTokenRefusal(
  ...presented: Array<string | undefined>
): JelmoreError | undefined {
  if (!presented.some((token) => isShareToken(token))) return undefined;
  return new JelmoreError(
    ErrorCode.ShareTokenReadOnly,
    "A share link's token is read-only and opens only GET /v1/shared/{token}: use an API key",
  );
}

/** The token of an `Authorization: Bearer <key>` header. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
}
