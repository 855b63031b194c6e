import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { generateVAPIDKeys } from 'web-push';
import type { SessionResource } from '@jelmore/contracts';
import { FakeAnthropicServer } from './fixtures/fake-anthropic';
import { freshPostgresSchema, redisAnswers, REDIS_URL } from './support/cluster-services';
import { eventIn } from './support/permissions';
import {
  FakePushService,
  notification,
  selfSignedCert,
  TestSubscription,
} from './support/push-service';
import { freePort, ServerProcess } from './support/server-process';

// Two nodes sharing a store and one VAPID pair: a subscription made on one, a notification sent by the
// node that runs the agent, its Allow given to the other.
describe('Web Push in a cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-push-cluster-'));
  const fake = new FakeAnthropicServer();
  const tls = selfSignedCert();
  const push = new FakePushService(tls);
  const vapid = generateVAPIDKeys();
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    await redisAnswers(REDIS_URL);
    schema = await freshPostgresSchema('jelmore_push');
    const fakeUrl = await fake.start();
    await push.start();
    const env = (node: string) => ({
      JELMORE_DATABASE_URL: schema.url,
      JELMORE_REDIS_URL: REDIS_URL,
      JELMORE_NODE_ID: `${node}-${randomBytes(3).toString('hex')}`,
      JELMORE_DATA_DIR: join(dir, node),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      JELMORE_VAPID_PUBLIC_KEY: vapid.publicKey,
      JELMORE_VAPID_PRIVATE_KEY: vapid.privateKey,
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
      JELMORE_ALLOW_PRIVATE_NETWORKS: 'true',
      JELMORE_LOG_LEVEL: 'warn',
      // The fake push service's certificate, trusted as a real one's CA would be.
      NODE_EXTRA_CA_CERTS: tls.certFile,
    });
    a = new ServerProcess(await freePort(), env('a'));
    b = new ServerProcess(await freePort(), env('b'));
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    await a?.kill('SIGTERM');
    await b?.kill('SIGTERM');
    await fake.stop();
    await push.stop();
    await schema?.drop();
    tls.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends each notification once, and takes its answer on any node, once', async () => {
    expect((await request(b.url).get('/v1/push/key').expect(200)).body).toEqual({
      publicKey: vapid.publicKey,
    });
    const sub = new TestSubscription(`${push.url}/cluster/1`);
    await request(b.url).post('/v1/push/subscriptions').send(sub.json).expect(201);

    const created = await request(a.url)
      .post('/v1/sessions')
      .send({ query: '[[bash echo clustered > pushed.txt]]', permissions: 'ask' })
      .expect(201);
    const session = created.body as SessionResource;
    const asked = await notification(push, sub, '/cluster/1', 1);
    expect(asked.payload).toMatchObject({ kind: 'permission_request', sessionId: session.id });

    const answered = await request(b.url)
      .post(`/v1/push/actions/${asked.payload.token}`)
      .send({ allow: true, sessionId: session.id, requestId: asked.payload.requestId })
      .expect(200);
    expect(answered.body).toEqual({
      ok: true,
      sessionId: session.id,
      requestId: asked.payload.requestId,
    });
    await eventIn(a.url, session.id, 'result');
    expect(readFileSync(join(session.cwd, 'pushed.txt'), 'utf8').trim()).toBe('clustered');
    const ended = await notification(push, sub, '/cluster/1', 2);
    expect(ended.payload.kind).toBe('result');

    const again = await request(a.url)
      .post(`/v1/push/actions/${asked.payload.token}`)
      .send({ allow: false })
      .expect(403);
    expect(again.body.error.code).toBe('PUSH_TOKEN_USED');
    await request(b.url).delete(`/v1/sessions/${session.id}`).expect(200);
    // One notification per event: only A, which commits them, sends.
    expect(push.to('/cluster/1')).toHaveLength(2);
  });
});
