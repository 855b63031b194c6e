import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { FakeAnthropicServer } from './fixtures/fake-anthropic';
import { freshPostgresSchema, redisAnswers, REDIS_URL } from './support/cluster-services';
import { eventIn, stateOf } from './support/permissions';
import { waitUntil } from './support/processes';
import { freePort, ServerProcess } from './support/server-process';
import { connect, request as wsRequest } from './support/ws-client';

// A permission reply sent to a node other than the one running the agent.
describe('a permission reply given to another node of a cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-permissions-cluster-'));
  const fake = new FakeAnthropicServer();
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    await redisAnswers(REDIS_URL);
    schema = await freshPostgresSchema('jelmore_permissions');
    const fakeUrl = await fake.start();
    const env = (node: string) => ({
      JELMORE_DATABASE_URL: schema.url,
      JELMORE_REDIS_URL: REDIS_URL,
      JELMORE_NODE_ID: `${node}-${randomBytes(3).toString('hex')}`,
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
      JELMORE_LOG_LEVEL: 'warn',
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
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the node that runs the agent, over REST and Socket.IO; 404s keep their code', async () => {
    const created = await request(a.url)
      .post('/v1/sessions')
      .send({ query: '[[bash echo routed > routed.txt]]', permissions: 'ask' })
      .expect(201);
    const session = created.body as SessionResource;
    const asked = await eventIn(b.url, session.id, 'permission_request');
    expect(
      (await request(b.url).get(`/v1/sessions/${session.id}/permissions`).expect(200)).body
        .requests,
    ).toEqual([expect.objectContaining({ requestId: asked.requestId })]);

    const unknown = await request(b.url)
      .post(`/v1/sessions/${session.id}/permissions/${randomUUID()}`)
      .send({ allow: true })
      .expect(404);
    expect(unknown.body.error.code).toBe('PERMISSION_REQUEST_NOT_FOUND');

    await request(b.url)
      .post(`/v1/sessions/${session.id}/permissions/${asked.requestId}`)
      .send({ allow: true })
      .expect(200);
    await eventIn(b.url, session.id, 'result');
    expect(readFileSync(join(session.cwd, 'routed.txt'), 'utf8').trim()).toBe('routed');
    expect(await stateOf(a.url, session.id)).toBe('idle');

    // The next request, denied through a socket on B.
    await request(b.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({ text: '[[bash echo no > no.txt]]' })
      .expect(202);
    const second = await eventIn(
      b.url,
      session.id,
      'permission_request',
      (e) => e.requestId !== asked.requestId,
    );
    const onB = await connect(b.url);
    try {
      expect(
        await wsRequest(onB, 'permission:reply', {
          sessionId: session.id,
          requestId: second.requestId,
          allow: false,
          reason: 'denied from node b',
        }),
      ).toEqual({ ok: true });
      expect(
        await wsRequest(onB, 'permission:reply', {
          sessionId: session.id,
          requestId: second.requestId,
          allow: true,
        }),
      ).toMatchObject({ ok: false, error: { code: 'PERMISSION_REQUEST_NOT_FOUND' } });
    } finally {
      onB.disconnect();
    }
    const resolved = await eventIn(
      a.url,
      session.id,
      'permission_resolved',
      (e) => e.requestId === second.requestId,
    );
    expect(resolved).toMatchObject({ allow: false, by: 'client', reason: 'denied from node b' });
    await waitUntil(async () => (await stateOf(a.url, session.id)) === 'idle', 30_000);
    expect(existsSync(join(session.cwd, 'no.txt'))).toBe(false);
    await request(b.url).delete(`/v1/sessions/${session.id}`).expect(200);
  });
});
