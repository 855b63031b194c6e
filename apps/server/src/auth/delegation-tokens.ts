import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { DelegatingSession } from '@jelmore/sessions';
import type { Principal } from './api-keys.service';

const PREFIX = 'jdt.';
/** Long enough for any turn; a resumed agent gets a new one. */
const LIFETIME_MS = 24 * 3600 * 1000;

interface Claims {
  /** The delegating session. */
  s: string;
  /** Its owner (API key id). */
  o: string | null;
  /** Expiry, ms since the epoch. */
  e: number;
}

/**
 * The tokens a delegating session's agent calls Jelmore's MCP server with: signed by this process
 * (its agents call the node they run on), naming the session and its owner. Whoever holds one acts as
 * that owner, not as an admin, and only on the sessions that session starts.
 */
export class DelegationTokens {
  private readonly secret = randomBytes(32);

  constructor(private readonly now: () => number = Date.now) {}

  mint(session: DelegatingSession): string {
    const claims: Claims = { s: session.id, o: session.owner, e: this.now() + LIFETIME_MS };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${PREFIX}${body}.${this.sign(body)}`;
  }

  /** Whether `token` is meant as one (then verify decides; it is never an API key). */
  isDelegationToken(token: string | undefined): token is string {
    return token?.startsWith(PREFIX) ?? false;
  }

  /** The principal a valid, unexpired token acts as; undefined for anything else. */
  verify(token: string): Principal | undefined {
    const [body, signature] = token.slice(PREFIX.length).split('.');
    if (!body || !signature) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    if (claims.e <= this.now()) return undefined;
    return { id: claims.o ?? '', admin: false, delegatedBy: claims.s };
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }
}
