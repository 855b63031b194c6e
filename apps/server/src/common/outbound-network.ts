import { lookup, promises as dns } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';

/**
 * Addresses a URL an API key registers (a webhook, a push endpoint) may not reach: this machine, private and link-local networks (a cloud's
 * metadata service is at 169.254.169.254), shared and reserved ranges. IPv4-mapped IPv6 addresses
 * are checked as their IPv4 address by BlockList itself.
 */
const PRIVATE_NETWORKS = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE_NETWORKS.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE_NETWORKS.addSubnet(network, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family !== 0 && PRIVATE_NETWORKS.check(address, family === 6 ? 'ipv6' : 'ipv4');
}

/** What a URL's host is, as a literal address (brackets off) or a name. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** The private address a URL names or resolves to, if any; a name that does not resolve has none. */
export async function privateAddressOf(url: URL): Promise<string | undefined> {
  const host = hostOf(url);
  if (isIP(host)) return isPrivateAddress(host) ? host : undefined;
  const addresses = await dns.lookup(host, { all: true }).catch(() => []);
  return addresses.find((a) => isPrivateAddress(a.address))?.address;
}

/**
 * Refuses a URL a key registers (`field` names its field) with 400 PRIVATE_ADDRESS when it names or
 * resolves to a private address, unless the operator allows these (JELMORE_ALLOW_PRIVATE_NETWORKS).
 */
export async function checkPublicUrl(
  url: string,
  field: string,
  allowPrivate: boolean,
): Promise<void> {
  const inside = allowPrivate ? undefined : await privateAddressOf(new URL(url));
  if (inside) {
    throw new JelmoreError(
      ErrorCode.PrivateAddress,
      `${field} reaches ${inside}, a loopback, private or link-local address (the operator may allow these: JELMORE_ALLOW_PRIVATE_NETWORKS)`,
      { field },
    );
  }
}

/**
 * Throws before a send to a registered URL whose host is a private address literal: a literal is
 * connected to without a lookup, so publicLookup (which checks names) never sees it.
 */
export function refusePrivateLiteral(url: URL): void {
  const host = hostOf(url);
  if (isPrivateAddress(host)) throw new Error(`${host} is a private address`);
}

/** dns.lookup for the sockets of a URL a key registered (webhook, push endpoint): checked at connect time, so a name that changes
 * its address after the webhook was created (DNS rebinding) is refused too. */
export const publicLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '');
    const inside = addresses.find((a) => isPrivateAddress(a.address));
    if (inside) {
      return callback(
        new Error(`${hostname} resolves to ${inside.address}, a private address`),
        '',
      );
    }
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

export interface OutboundPost {
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
  /** Refuse private addresses (a URL a key registered; the operator's own are trusted). */
  publicOnly: boolean;
}

/** POSTs and resolves with the receiver's status; the answer's body is drained and dropped. */
export async function postOutbound(url: URL, post: OutboundPost): Promise<number> {
  if (post.publicOnly) refusePrivateLiteral(url);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { ...post.headers, 'content-length': Buffer.byteLength(post.body) },
        signal: post.signal,
        ...(post.publicOnly ? { lookup: publicLookup } : {}),
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(post.body);
  });
}
