import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { freshPostgresSchema, redisAnswers, REDIS_URL } from './support/cluster-services';
import { waitUntil } from './support/processes';
import { freePort, ServerProcess } from './support/server-process';
import { WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver';

interface DeliveryView {
  id: string;
  sessionId: string;
  seq: number;
  state: string;
  attempts: number;
}

describe('an operator-wide webhook on two nodes sharing PostgreSQL and Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-webhooks-cluster-'));
  // Every delivery's first attempt fails, so its retry may be claimed by either node.
  const receiver = new WebhookReceiver((_delivery, attempt) => (attempt === 1 ? 500 : 200));
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  const nodes: ServerProcess[] = [];

  beforeAll(async () => {
    await redisAnswers(REDIS_URL);
    await receiver.start();
    schema = await freshPostgresSchema('jelmore_webhooks');
    const config = join(dir, 'jelmore.json');
    writeFileSync(
      config,
      JSON.stringify({
        webhooks: [{ url: receiver.url, events: ['result'], secret: WEBHOOK_SECRET }],
      }),
    );
    for (const node of ['a', 'b']) {
      nodes.push(
        new ServerProcess(await freePort(), {
          JELMORE_DATABASE_URL: schema.url,
          JELMORE_REDIS_URL: REDIS_URL,
          JELMORE_NODE_ID: `${node}-${randomBytes(3).toString('hex')}`,
          JELMORE_DATA_DIR: join(dir, `data-${node}`),
          JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
          JELMORE_CONFIG: config,
          JELMORE_SCRIPTED_ENABLED: 'true',
          JELMORE_WEBHOOK_RETRY_BASE_MS: '200',
          JELMORE_LOG_LEVEL: 'warn',
        }),
      );
    }
    for (const node of nodes) await node.start();
  });

  afterAll(async () => {
    for (const node of nodes) await node.kill('SIGTERM');
    await receiver.stop();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each event once, whichever node commits it and whichever retries it', async () => {
    const sessions: string[] = [];
    for (let i = 0; i < 6; i++) {
      const node = nodes[i % 2];
      const created = await request(node.url)
        .post('/v1/sessions')
        .send({ provider: 'scripted', model: 'scripted', query: `turn ${i}` })
        .expect(201);
      sessions.push((created.body as SessionResource).id);
    }

    // Each node lists the shared outbox: one row per session's result, each delivered.
    const outbox = async (node: ServerProcess) =>
      (await request(node.url).get('/v1/webhooks/config:0/deliveries').expect(200))
        .body as DeliveryView[];
    const settled = await waitUntil(async () => {
      const rows = await outbox(nodes[0]);
      return rows.length === sessions.length && rows.every((r) => r.state === 'delivered');
    }, 30_000);
    expect(settled).toBe(true);

    const rows = await outbox(nodes[1]);
    expect(rows.map((r) => r.sessionId).sort()).toEqual([...sessions].sort());
    for (const row of rows) {
      // Two attempts recorded (500, then 200), as many POSTs seen, and a single 2xx per delivery.
      expect(row.attempts).toBe(2);
      expect(receiver.received.filter((r) => r.delivery === row.id).map((r) => r.status)).toEqual([
        500, 200,
      ]);
    }
    const perEvent = new Set(
      receiver.received.map((r) => `${r.body.session.id}:${r.body.event.seq}`),
    );
    expect(perEvent.size).toBe(sessions.length);
    expect(new Set(receiver.received.map((r) => r.delivery)).size).toBe(sessions.length);
    expect(receiver.received.every((r) => r.signed)).toBe(true);
  });
});
