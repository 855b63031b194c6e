import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { waitUntil } from './support/processes';
import { Route, routes } from './support/routes';
import { connect, request as wsRequest } from './support/ws-client';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const OPS = 'ops-key-0123456789abcdef';
const KEYS = `alice:${ALICE},bob:${BOB},ops:${OPS}:admin`;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys, ownership and rate limits', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      // Every route is tried with three bad keys, all from one address: past the failure limit.
      env: { JELMORE_API_KEYS: KEYS, JELMORE_AUTH_FAILURE_LIMIT: '1000' },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('every route but the health probes, the docs and the dashboard page wants a valid key', async () => {
    const all = routes(server.app);
    // The dashboard's static page and files hold no data; the API calls it makes need the key.
    const dashboard = [
      { method: 'get', path: '/' },
      { method: 'get', path: '/dashboard/:file' },
    ];
    expect(all).toEqual(expect.arrayContaining(dashboard));
    const isDashboard = (r: Route) =>
      dashboard.some((d) => d.method === r.method && d.path === r.path);
    // Web Push: the public VAPID key, and a notification's answer, whose token is the credential.
    const push = [
      { method: 'get', path: '/v1/push/key' },
      { method: 'post', path: '/v1/push/actions/:token' },
    ];
    expect(all).toEqual(expect.arrayContaining(push));
    const isPush = (r: Route) => push.some((d) => d.method === r.method && d.path === r.path);
    // Share links: the token in the path is the credential, read-only (test/shares.e2e-spec.ts).
    const shared = [
      { method: 'get', path: '/share/:token' },
      { method: 'get', path: '/v1/shared/:token' },
      { method: 'get', path: '/v1/shared/:token/events' },
    ];
    expect(all).toEqual(expect.arrayContaining(shared));
    const isShared = (r: Route) => shared.some((d) => d.method === r.method && d.path === r.path);
    // Catch-all layers (`{/*splat}`) are middleware, not routes; the OpenAPI pages are public.
    const guarded = all.filter(
      (r) =>
        r.path.startsWith('/') &&
        !r.path.startsWith('/health') &&
        !r.path.startsWith('/docs') &&
        !isDashboard(r) &&
        !isPush(r) &&
        !isShared(r),
    );
    // The router really was read: the sessions API alone has nine routes.
    expect(guarded.length).toBeGreaterThanOrEqual(13);
    const id = '00000000-0000-4000-8000-000000000000';
    for (const route of guarded) {
      const path = route.path.replace(':id', id).replace(':requestId', 'r1');
      const agent = request(server.url) as unknown as Record<string, (p: string) => request.Test>;
      const call = (headers: Record<string, string>) => agent[route.method](path).set(headers);
      for (const headers of [{}, bearer('wrong-key-0123456789'), { authorization: ALICE }]) {
        const res = await call(headers);
        expect({ route, status: res.status }).toEqual({ route, status: 401 });
        expect(res.body.error.code).toBe('UNAUTHORIZED');
      }
    }
    for (const probe of all.filter((r) => r.path.startsWith('/health'))) {
      await request(server.url).get(probe.path).expect(200);
    }
    const page = await request(server.url).get('/').expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    await request(server.url).get('/dashboard/app.js').expect(200);
  });

  it('refuses a Socket.IO handshake without a valid key', async () => {
    await expect(connect(server.url)).rejects.toMatchObject({ data: { code: 'UNAUTHORIZED' } });
    await expect(connect(server.url, 'wrong-key-0123456789')).rejects.toMatchObject({
      data: { code: 'UNAUTHORIZED' },
    });
    const ok = await connect(server.url, ALICE);
    ok.disconnect();
  });

  it("hides a key's sessions from other keys on REST and WS; admin keys see all", async () => {
    const created = await request(server.url)
      .post('/v1/sessions')
      .set(bearer(ALICE))
      .send({ query: '[[bash env > env.txt]]' })
      .expect(201);
    const session = created.body as SessionResource;
    const idle = await waitUntil(
      async () =>
        (await request(server.url).get(`/v1/sessions/${session.id}`).set(bearer(ALICE))).body
          .state === 'idle',
    );
    expect(idle).toBe(true);

    const asBob = (method: 'get' | 'post' | 'delete', path: string) =>
      request(server.url)[method](path).set(bearer(BOB));
    for (const [method, path] of [
      ['get', `/v1/sessions/${session.id}`],
      ['get', `/v1/sessions/${session.id}/events`],
      ['post', `/v1/sessions/${session.id}/interrupt`],
      ['post', `/v1/sessions/${session.id}/suspend`],
      ['delete', `/v1/sessions/${session.id}`],
    ] as const) {
      const res = await asBob(method, path).expect(404);
      expect(res.body.error.code).toBe('SESSION_NOT_FOUND');
    }
    await asBob('post', `/v1/sessions/${session.id}/input`).send({ text: 'x' }).expect(404);
    expect(
      ((await asBob('get', '/v1/sessions').expect(200)).body as SessionResource[]).map((s) => s.id),
    ).not.toContain(session.id);
    const bobSocket = await connect(server.url, BOB);
    try {
      for (const [event, payload] of [
        ['session:subscribe', { sessionId: session.id }],
        ['session:input', { sessionId: session.id, text: 'x' }],
        ['session:terminate', { sessionId: session.id }],
      ] as const) {
        const ack = await wsRequest(bobSocket, event, payload);
        expect(ack).toMatchObject({ ok: false, error: { code: 'SESSION_NOT_FOUND' } });
      }
    } finally {
      bobSocket.disconnect();
    }

    const seenByOps = (await request(server.url).get('/v1/sessions').set(bearer(OPS)).expect(200))
      .body as SessionResource[];
    expect(seenByOps.map((s) => s.id)).toContain(session.id);
    await request(server.url).get(`/v1/sessions/${session.id}/events`).set(bearer(OPS)).expect(200);

    // The agent ran with its own settings and none of the server's secrets.
    const env = readFileSync(join(session.cwd, 'env.txt'), 'utf8');
    expect(env).toContain('ANTHROPIC_BASE_URL=');
    expect(env).not.toContain('JELMORE_API_KEYS');
    for (const key of [ALICE, BOB, OPS]) expect(env).not.toContain(key);

    await request(server.url).delete(`/v1/sessions/${session.id}`).set(bearer(ALICE)).expect(200);
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-key limit, counting each key apart', async () => {
    const server = await startTestServer({
      env: { JELMORE_API_KEYS: KEYS, JELMORE_RATE_LIMIT_PER_MINUTE: '3' },
    });
    try {
      for (let i = 0; i < 3; i++)
        await request(server.url).get('/v1/sessions').set(bearer(ALICE)).expect(200);
      const limited = await request(server.url).get('/v1/sessions').set(bearer(ALICE)).expect(429);
      expect(limited.body.error.code).toBe('RATE_LIMITED');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.body.error.retryAfter).toBe(Number(limited.headers['retry-after']));
      await request(server.url).get('/v1/sessions').set(bearer(BOB)).expect(200);
      // Probes are never limited.
      for (let i = 0; i < 5; i++) await request(server.url).get('/health/live').expect(200);
    } finally {
      await server.close();
    }
  });
});

describe('key budgets', () => {
  it("stop a key's spending across its sessions, naming the key budget; other keys go on", async () => {
    const server = await startTestServer({
      env: { JELMORE_API_KEYS: KEYS, JELMORE_KEY_BUDGETS: 'alice:0.0001' },
    });
    try {
      const first = await request(server.url)
        .post('/v1/sessions')
        .set(bearer(ALICE))
        .send({ query: 'spend a little' })
        .expect(201);
      const id = (first.body as SessionResource).id;
      const idle = await waitUntil(
        async () =>
          (await request(server.url).get(`/v1/sessions/${id}`).set(bearer(ALICE))).body.state ===
          'idle',
      );
      expect(idle).toBe(true);
      const events = (await request(server.url).get(`/v1/sessions/${id}/events`).set(bearer(ALICE)))
        .body.events;
      expect(events.find((e: { type: string }) => e.type === 'error')).toMatchObject({
        code: 'BUDGET_EXCEEDED',
      });

      const refused = await request(server.url)
        .post('/v1/sessions')
        .set(bearer(ALICE))
        .send({ query: 'more' })
        .expect(402);
      expect(refused.body.error).toMatchObject({
        code: 'BUDGET_EXCEEDED',
        details: { budget: 'key', limitUsd: 0.0001 },
      });
      expect(refused.body.error.details.spentUsd).toBeGreaterThanOrEqual(0.0001);
      await request(server.url)
        .post(`/v1/sessions/${id}/input`)
        .set(bearer(ALICE))
        .send({ text: 'x' })
        .expect(402);

      const bob = await request(server.url)
        .post('/v1/sessions')
        .set(bearer(BOB))
        .send({ query: 'fine' })
        .expect(201);
      await request(server.url).delete(`/v1/sessions/${bob.body.id}`).set(bearer(BOB)).expect(200);
      await request(server.url).delete(`/v1/sessions/${id}`).set(bearer(ALICE)).expect(200);
    } finally {
      await server.close();
    }
  });
});
