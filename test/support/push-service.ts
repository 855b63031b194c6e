import { execFileSync } from 'node:child_process';
import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PushPayload } from '../../apps/server/src/push/push-payload';
import { waitUntil } from './processes';

// What the Web Push specs share: a push service on loopback, and subscriptions the test can decrypt.

/** The test's side of RFC 8291: decrypts what web-push encrypted to a subscription's keys. */
const ece = createRequire(__filename)('http_ece') as {
  decrypt(
    body: Buffer,
    params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string },
  ): Buffer;
};

/** A browser's subscription as the test makes it: its own P-256 key pair and auth secret. */
export class TestSubscription {
  readonly ecdh = createECDH('prime256v1');
  readonly auth = randomBytes(16).toString('base64url');
  constructor(readonly endpoint: string) {
    this.ecdh.generateKeys();
  }
  get json() {
    return {
      endpoint: this.endpoint,
      expirationTime: null,
      keys: { p256dh: this.ecdh.getPublicKey().toString('base64url'), auth: this.auth },
    };
  }
  decrypt(body: Buffer): string {
    return ece
      .decrypt(body, { version: 'aes128gcm', privateKey: this.ecdh, authSecret: this.auth })
      .toString('utf8');
  }
}

export interface Delivery {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A push service on loopback (https, as RFC 8030 and web-push have it): records every POST. */
export class FakePushService {
  readonly deliveries: Delivery[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly tls: { key: Buffer; cert: Buffer }) {}

  async start(): Promise<string> {
    this.server = createServer(this.tls, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.deliveries.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        // An endpoint under /gone/ is a subscription the browser dropped.
        res.writeHead(req.url?.startsWith('/gone/') ? 410 : 201).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  to(path: string): Delivery[] {
    return this.deliveries.filter((d) => d.path === path);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Waits for `check`; fails naming `what` when it does not come. */
export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000) {
  if (!(await waitUntil(async () => check(), ms))) throw new Error(`timed out waiting for ${what}`);
}

/** A self-signed certificate for 127.0.0.1 (openssl), in a folder of its own; `remove` deletes it. */
export function selfSignedCert(): { key: Buffer; cert: Buffer; certFile: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-push-tls-'));
  execFileSync(
    'openssl',
    [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1'],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
    ],
    { stdio: 'ignore' },
  );
  return {
    key: readFileSync(join(dir, 'key.pem')),
    cert: readFileSync(join(dir, 'cert.pem')),
    certFile: join(dir, 'cert.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The n-th notification to `path`, decrypted with the subscription's keys. */
export async function notification(
  push: FakePushService,
  sub: TestSubscription,
  path: string,
  n: number,
): Promise<{ delivery: Delivery; text: string; payload: PushPayload }> {
  await until(`notification ${n} to ${path}`, () => push.to(path).length >= n);
  const delivery = push.to(path)[n - 1];
  const text = sub.decrypt(delivery.body);
  return { delivery, text, payload: JSON.parse(text) as PushPayload };
}
