import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const WEBHOOK_SECRET = 'whsec-0123456789abcdef';

export interface ReceivedDelivery {
  delivery: string;
  event: string;
  signed: boolean;
  status: number;
  body: { id: string; type: string; event: { type: string; seq: number }; session: { id: string } };
}

/** A receiver as docs/webhooks.md tells one to write: it checks the signature, then answers `plan`. */
export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly plan: (delivery: string, attempt: number) => number) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const delivery = String(req.headers['jelmore-delivery']);
        const signed = verifySignature(String(req.headers['jelmore-signature']), raw);
        const attempt = this.received.filter((r) => r.delivery === delivery).length + 1;
        const status = signed ? this.plan(delivery, attempt) : 400;
        this.received.push({
          delivery,
          event: String(req.headers['jelmore-event']),
          signed,
          status,
          body: JSON.parse(raw) as ReceivedDelivery['body'],
        });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Answers with a 2xx per delivery id: a receiver deduping on Jelmore-Delivery would act this often. */
  accepted(delivery: string): number {
    return this.received.filter((r) => r.delivery === delivery && r.status < 300).length;
  }
}

function verifySignature(header: string, body: string): boolean {
  const { t, v1 } = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
  if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
  const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${body}`).digest();
  const given = Buffer.from(v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
