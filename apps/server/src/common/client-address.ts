import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/** Express's compiled `trust proxy` setting: whether the hop `address` at distance `i` is a trusted proxy. */
export type TrustProxy = (address: string, i: number) => boolean;

const KEYWORDS = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * JELMORE_TRUST_PROXY as Express takes it: a number of proxy hops, or a comma-separated list of
 * addresses, CIDR ranges and the keywords loopback, linklocal, uniquelocal. Undefined when invalid.
 */
export function parseTrustProxy(value: string): number | string[] | undefined {
  if (/^\d+$/.test(value.trim())) return Number(value);
  const entries = value.split(',').map((entry) => entry.trim());
  const valid = entries.every((entry) => {
    if (KEYWORDS.includes(entry)) return true;
    const [address, bits, ...rest] = entry.split('/');
    const family = isIP(address);
    if (!family || rest.length) return false;
    return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
  });
  return valid && entries.length ? entries : undefined;
}

/**
 * The client's address the way Express computes `req.ip`: the connection's, or, through trusted
 * proxies, the first untrusted hop of X-Forwarded-For read from the right. For Socket.IO handshakes,
 * whose requests never pass through Express.
 */
export function clientAddress(
  req: IncomingMessage,
  trust: TrustProxy | undefined,
): string | undefined {
  const direct = req.socket.remoteAddress;
  if (!trust || !direct) return direct;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean)
    .reverse();
  const hops = [direct, ...forwarded];
  for (let i = 0; i < hops.length - 1; i++) if (!trust(hops[i], i)) return hops[i];
  return hops[hops.length - 1];
}
