import request from 'supertest';
import type { Socket } from 'socket.io-client';
import type {
  AgentProviderPort,
  CreateSessionAck,
  SessionEvent,
  SessionResource,
  WsAck,
} from '@jelmore/contracts';
import { ProviderRegistry, ScriptedProvider } from '@jelmore/providers';
import { startTestServer, TestServer } from './support/app';
import { TestClock } from './support/test-clock';
import { connect, request as wsRequest } from './support/ws-client';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const KEYS = `alice:${ALICE},bob:${BOB}`;

describe('per-provider session rate limits', () => {
  let server: TestServer;
  const clock = new TestClock();
  const created: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_SCRIPTED_ENABLED: 'true',
        // echo is registered below, at run time: a limit may name a provider that comes later.
        JELMORE_PROVIDER_RATE_LIMITS: 'scripted:2,echo:1',
        // A whole minute: the test moves the clock on, so no count depends on the machine's speed.
        JELMORE_RATE_LIMIT_WINDOW_SECONDS: '60',
      },
      clock,
    });
    // Scripted agents under another name: serves the same model, so selection falls back to it.
    const scripted = server.app.get(ScriptedProvider);
    const echo: AgentProviderPort = {
      name: 'echo',
      get capabilities() {
        return scripted.capabilities;
      },
      models: () => scripted.models(),
      resolveModel: (model) => scripted.resolveModel(model),
      createSession: (config) => scripted.createSession(config),
      healthCheck: () => scripted.healthCheck(),
      metrics: () => scripted.metrics(),
    };
    const registry = server.app.get(ProviderRegistry);
    registry.register('echo', () => echo);
    // Unlimited, and a candidate only when named.
    registry.register('free', () => ({
      ...echo,
      name: 'free',
      autoSelect: false,
      resolveModel: (model) => (model === undefined ? scripted.resolveModel() : undefined),
    }));
  });

  afterAll(async () => {
    for (const id of created) await request(server.url).delete(`/v1/sessions/${id}`);
    await server?.close();
  });

  const create = (body: object) => request(server.url).post('/v1/sessions').send(body);
  const events = async (id: string) =>
    (await request(server.url).get(`/v1/sessions/${id}/events`).expect(200)).body
      .events as SessionEvent[];

  it('holds for REST and WS alike: 429 with Retry-After, a RATE_LIMITED ack, a fallback, then recovery', async () => {
    const socket = await connect(server.url);
    try {
      // scripted: two starts in its window, one over REST and one over WS.
      const first = await create({ query: 'one', provider: 'scripted' }).expect(201);
      created.push(first.body.id);
      const second = await wsRequest<{ session: SessionResource }>(socket, 'session:create', {
        query: 'two',
        provider: 'scripted',
      });
      expect(second).toMatchObject({ ok: true, session: { provider: 'scripted' } });
      if (second.ok) created.push(second.session.id);

      // Named explicitly and over its rate: refused on both transports, saying when to retry.
      const limited = await create({ query: 'three', provider: 'scripted' }).expect(429);
      const retryAfter = Number(limited.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(limited.body.error).toMatchObject({
        code: 'RATE_LIMITED',
        retryAfter,
        details: { provider: 'scripted' },
      });
      expect(limited.body.error.message).toContain(
        "Provider 'scripted' started its 2 sessions per 60 s",
      );
      const ack = (await socket.timeout(10_000).emitWithAck('session:create', {
        query: 'three',
        provider: 'scripted',
      })) as CreateSessionAck;
      expect(ack).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
      expect(!ack.ok && ack.error.retryAfter).toBeGreaterThanOrEqual(1);

      // Not named: scripted is skipped like a full provider, and the session says so.
      const fellBack = await create({ query: 'four', model: 'scripted' }).expect(201);
      created.push(fellBack.body.id);
      expect(fellBack.body.provider).toBe('echo');
      const [status] = await events(fellBack.body.id);
      expect(status).toMatchObject({ type: 'status', to: 'starting' });
      expect(status.type === 'status' && status.reason).toMatch(
        /^fell back to echo: scripted rate limited \(Provider 'scripted' started its 2 sessions per 60 s; the next may start in \d+ s\)$/,
      );

      // Every candidate is over its rate now: RATE_LIMITED, retry when the first frees a slot.
      const none = await create({ query: 'five', model: 'scripted' }).expect(429);
      expect(none.body.error.code).toBe('RATE_LIMITED');
      expect(none.body.error.message).toContain('Every candidate is over its session rate');
      expect(none.body.error.message).toContain('echo rate limited');
      const wait = Number(none.headers['retry-after']);
      expect(wait).toBeGreaterThanOrEqual(1);
      expect(wait).toBeLessThanOrEqual(retryAfter);

      // Retry-After is honest: once it has passed, scripted starts sessions again. The server's rate
      // clock is moved on by it, not slept out.
      clock.advance(wait * 1000);
      const again = await create({ query: 'six', provider: 'scripted' }).expect(201);
      created.push(again.body.id);
    } finally {
      socket.disconnect();
    }
  });

  it('leaves providers it does not name unlimited', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await create({ query: 'free', provider: 'free' }).expect(201);
      created.push(res.body.id);
    }
  });
});

describe('Socket.IO event rate limit', () => {
  let server: TestServer;
  const clock = new TestClock();

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: KEYS,
        JELMORE_RATE_LIMIT_PER_MINUTE: '5',
        // A whole minute: the test moves the clock on, so no count depends on the machine's speed.
        JELMORE_RATE_LIMIT_WINDOW_SECONDS: '60',
      },
      clock,
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  /** Sends `n` cheap events at once; their acks in order. */
  const flood = (socket: Socket, n: number) =>
    Promise.all(
      Array.from({ length: n }, () =>
        wsRequest(socket, 'session:unsubscribe', {
          sessionId: '00000000-0000-4000-8000-000000000000',
        }),
      ),
    );
  const codes = (acks: WsAck[]) => acks.map((a) => (a.ok ? 'ok' : a.error.code));

  it('answers events past the per-key limit with RATE_LIMITED acks, keeps the socket, and recovers', async () => {
    const alice = await connect(server.url, ALICE);
    const alice2 = await connect(server.url, ALICE);
    const bob = await connect(server.url, BOB);
    try {
      const acks = await flood(alice, 8);
      expect(codes(acks)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', ...Array(3).fill('RATE_LIMITED')]);
      const refused = acks[7];
      expect(refused).toMatchObject({
        ok: false,
        error: { code: 'RATE_LIMITED', message: expect.stringContaining('at most 5 per 60 s') },
      });
      const retryAfter = refused.ok ? 0 : (refused.error.retryAfter ?? 0);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(alice.connected).toBe(true);
      // The limit is the key's, not the socket's; another key has its own.
      expect(codes(await flood(alice2, 1))).toEqual(['RATE_LIMITED']);
      expect(codes(await flood(bob, 5))).toEqual(Array(5).fill('ok'));

      // Once retryAfter has passed on the server's clock (moved on, not slept out), the key has its
      // whole limit again.
      clock.advance(retryAfter * 1000);
      expect(codes(await flood(alice, 5))).toEqual(Array(5).fill('ok'));
      expect(alice.connected).toBe(true);
    } finally {
      for (const s of [alice, alice2, bob]) s.disconnect();
    }
  });

  it('without API keys, counts per socket', async () => {
    const keyless = await startTestServer({
      env: { JELMORE_RATE_LIMIT_PER_MINUTE: '3', JELMORE_RATE_LIMIT_WINDOW_SECONDS: '60' },
    });
    const a = await connect(keyless.url);
    const b = await connect(keyless.url);
    try {
      expect(codes(await flood(a, 4))).toEqual(['ok', 'ok', 'ok', 'RATE_LIMITED']);
      expect(codes(await flood(b, 3))).toEqual(['ok', 'ok', 'ok']);
    } finally {
      a.disconnect();
      b.disconnect();
      await keyless.close();
    }
  });
});
