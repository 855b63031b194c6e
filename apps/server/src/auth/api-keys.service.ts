import { Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import { JelmoreConfig } from '../config/jelmore.config';

/** Who a request acts for. */
export interface Principal {
  id: string;
  admin: boolean;
}

/** With no keys configured (a loopback-only server), every caller acts as this admin. */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({ id: 'local', admin: true });

interface StoredKey {
  principal: Principal;
  digest: Buffer;
}

/** The API keys of JELMORE_API_KEYS, checked in constant time; the keys themselves are never logged. */
@Injectable()
export class ApiKeysService {
  private readonly keys: StoredKey[];

  constructor(config: JelmoreConfig) {
    this.keys = config.apiKeys.map((k) => ({
      principal: { id: k.id, admin: k.admin },
      digest: digest(k.key),
    }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The principal for a presented key, or undefined. Every stored key is compared, match or not. */
  authenticate(token: string | undefined): Principal | undefined {
    if (!this.enabled) return LOCAL_PRINCIPAL;
    if (!token) return undefined;
    const presented = digest(token);
    let found: Principal | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, presented)) found = key.principal;
    }
    return found;
  }
}

/** Equal-length digests make timingSafeEqual usable on keys of any length. */
function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The token of an `Authorization: Bearer <key>` header. */
export function bearerToken(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
  return match?.[1];
}
