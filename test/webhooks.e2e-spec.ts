import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { startTestServer, type TestServer } from './support/app';
import { waitUntil } from './support/processes';
import { WEBHOOK_SECRET as SECRET, WebhookReceiver } from './support/webhook-receiver';

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function runTurn(server: TestServer, key?: string): Promise<string> {
  const http = () => request(server.url);
  const auth = key ? bearer(key) : {};
  const created = await http()
    .post('/v1/sessions')
    .set(auth)
    .send({ provider: 'scripted', model: 'scripted', query: 'hello' })
    .expect(201);
  const id = (created.body as SessionResource).id;
  expect(
    await waitUntil(
      async () => (await http().get(`/v1/sessions/${id}`).set(auth)).body.state === 'idle',
    ),
  ).toBe(true);
  return id;
}

describe('webhooks per API key', () => {
  const ALICE = 'alice-key-0123456789abcdef';
  const BOB = 'bob-key-0123456789abcdef';
  // 500, 500, then 200: three attempts of each delivery.
  const receiver = new WebhookReceiver((_delivery, attempt) => (attempt <= 2 ? 500 : 200));
  let server: TestServer;

  beforeAll(async () => {
    await receiver.start();
    server = await startTestServer({
      env: {
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB}`,
        // The receivers are on loopback, which a key's webhook may not reach by default.
        JELMORE_ALLOW_PRIVATE_NETWORKS: 'true',
        JELMORE_WEBHOOK_RETRY_BASE_MS: '100',
        JELMORE_WEBHOOK_TIMEOUT_MS: '300',
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    await receiver.stop();
  });

  it('refuses a URL that is not http(s) with a code', async () => {
    const res = await request(server.url)
      .post('/v1/webhooks')
      .set(bearer(ALICE))
      .send({ url: 'ftp://127.0.0.1/hook', events: ['result'], secret: SECRET })
      .expect(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('signs each delivery, retries after 500 twice, records it, and shows it to its key only', async () => {
    const http = () => request(server.url);
    const created = await http()
      .post('/v1/webhooks')
      .set(bearer(ALICE))
      .send({ url: receiver.url, events: ['result'], secret: SECRET })
      .expect(201);
    const webhook = created.body as { id: string; secret?: string };
    expect(webhook.secret).toBeUndefined();

    const sessionId = await runTurn(server, ALICE);
    expect(await waitUntil(async () => receiver.received.some((r) => r.status === 200))).toBe(true);
    const [first] = receiver.received;
    expect(receiver.received.map((r) => [r.delivery, r.status, r.signed])).toEqual([
      [first.delivery, 500, true],
      [first.delivery, 500, true],
      [first.delivery, 200, true],
    ]);
    expect(first).toMatchObject({
      event: 'result',
      body: {
        id: first.delivery,
        type: 'result',
        event: { type: 'result' },
        session: { id: sessionId },
      },
    });
    const deliveries = (
      await http().get(`/v1/webhooks/${webhook.id}/deliveries`).set(bearer(ALICE)).expect(200)
    ).body as Array<{ id: string; state: string; attempts: number; lastStatus: number }>;
    expect(deliveries).toEqual([
      expect.objectContaining({
        id: first.delivery,
        state: 'delivered',
        attempts: 3,
        lastStatus: 200,
      }),
    ]);

    // Bob's sessions are not Alice's webhook's: once Bob's own webhook has its delivery of Bob's turn,
    // Alice's would have been recorded with it (one insert per committed batch), and there is none.
    const bobs = await http()
      .post('/v1/webhooks')
      .set(bearer(BOB))
      .send({ url: receiver.url, events: ['result'], secret: SECRET })
      .expect(201);
    const bobsWebhook = (bobs.body as { id: string }).id;
    const bobsSession = await runTurn(server, BOB);
    expect(
      await waitUntil(
        async () =>
          (await http().get(`/v1/webhooks/${bobsWebhook}/deliveries`).set(bearer(BOB))).body
            .length === 1,
      ),
    ).toBe(true);
    expect(
      receiver.received.filter((r) => r.body.session.id === bobsSession).map((r) => r.delivery),
    ).not.toContain(first.delivery);
    expect(
      (await http().get(`/v1/webhooks/${webhook.id}/deliveries`).set(bearer(ALICE)).expect(200))
        .body,
    ).toHaveLength(1);
    await http().delete(`/v1/webhooks/${bobsWebhook}`).set(bearer(BOB)).expect(200);
    await http().get(`/v1/webhooks/${webhook.id}/deliveries`).set(bearer(BOB)).expect(404);
    await http().delete(`/v1/webhooks/${webhook.id}`).set(bearer(BOB)).expect(404);
    expect((await http().get('/v1/webhooks').set(bearer(BOB)).expect(200)).body).toEqual([]);
    expect((await http().get('/v1/webhooks').set(bearer(ALICE)).expect(200)).body).toEqual([
      expect.objectContaining({ id: webhook.id, url: receiver.url, events: ['result'] }),
    ]);
    await http().delete(`/v1/webhooks/${webhook.id}`).set(bearer(ALICE)).expect(200);
  });

  it('fails and retries a delivery to a receiver that is not there or answers nothing; the session runs on', async () => {
    const http = () => request(server.url);
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    // A port that was just free: nothing listens there.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    try {
      const urls = [
        `http://127.0.0.1:${freePort}/nothing-listens`,
        `http://127.0.0.1:${(silent.address() as AddressInfo).port}/never-answers`,
      ];
      const ids: string[] = [];
      for (const url of urls) {
        const res = await http()
          .post('/v1/webhooks')
          .set(bearer(ALICE))
          .send({ url, events: ['result'], secret: SECRET })
          .expect(201);
        ids.push((res.body as { id: string }).id);
      }
      await runTurn(server, ALICE);
      for (const [i, error] of [/ECONNREFUSED/, /timed out/].entries()) {
        const retried = await waitUntil(async () => {
          const [d] = (await http().get(`/v1/webhooks/${ids[i]}/deliveries`).set(bearer(ALICE)))
            .body as Array<{ state: string; attempts: number; lastError: string }>;
          return d?.state === 'pending' && d.attempts >= 2 && error.test(d.lastError);
        });
        expect(retried).toBe(true);
        await http().delete(`/v1/webhooks/${ids[i]}`).set(bearer(ALICE)).expect(200);
      }
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});

describe('an operator-wide webhook across a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-webhooks-'));
  // The first attempt fails; the second, from the next server, succeeds.
  const receiver = new WebhookReceiver((_delivery, attempt) => (attempt === 1 ? 500 : 200));

  beforeAll(() => receiver.start());
  afterAll(async () => {
    await receiver.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends a pending delivery once after the restart', async () => {
    const config = join(dir, 'jelmore.json');
    writeFileSync(
      config,
      JSON.stringify({ webhooks: [{ url: receiver.url, events: ['result'], secret: SECRET }] }),
    );
    const env = {
      JELMORE_SCRIPTED_ENABLED: 'true',
      JELMORE_CONFIG: config,
      JELMORE_WEBHOOK_RETRY_BASE_MS: '1500',
    };
    const first = await startTestServer({ dir, env });
    try {
      await runTurn(first);
      expect(await waitUntil(async () => receiver.received.length === 1)).toBe(true);
    } finally {
      await first.close();
    }
    const { delivery } = receiver.received[0];
    const second = await startTestServer({ dir, env });
    try {
      expect(await waitUntil(async () => receiver.accepted(delivery) === 1)).toBe(true);
      expect(receiver.received.map((r) => [r.delivery, r.status])).toEqual([
        [delivery, 500],
        [delivery, 200],
      ]);
      const deliveries = (
        await request(second.url).get('/v1/webhooks/config:0/deliveries').expect(200)
      ).body as Array<{ state: string; attempts: number }>;
      expect(deliveries).toEqual([
        expect.objectContaining({ id: delivery, state: 'delivered', attempts: 2 }),
      ]);
    } finally {
      await second.close();
    }
  });
});
