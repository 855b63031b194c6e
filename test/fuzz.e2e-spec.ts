import fc from 'fast-check';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { WsAck } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { connect } from './support/ws-client';

const SEED = 20261126;
const RUNS_PER_SURFACE = 5000;
const CONCURRENCY = 50;

/** Values of every JSON shape, and near misses of the real payloads (wrong types, extra or huge fields). */
const junk = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      query: fc.oneof(
        fc.string(),
        fc.integer(),
        fc.constant(null),
        fc.string({ minLength: 100_001, maxLength: 100_010 }),
      ),
      provider: fc.oneof(fc.string(), fc.constant('claude'), fc.constant('nope'), fc.integer()),
      model: fc.oneof(fc.string(), fc.constant('opus'), fc.constant(''), fc.array(fc.string())),
      cwd: fc.oneof(
        fc.string(),
        fc.constant('../..'),
        fc.constant('/etc'),
        fc.constant('a/../../b'),
      ),
      sessionId: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
      after: fc.oneof(fc.integer(), fc.double(), fc.string(), fc.constant(-1)),
      text: fc.oneof(fc.string(), fc.constant(''), fc.integer()),
      requirements: fc.oneof(fc.jsonValue(), fc.record({ capabilities: fc.array(fc.string()) })),
      maxBudgetUsd: fc.oneof(fc.double(), fc.string(), fc.constant(-1)),
      extra: fc.jsonValue(),
    },
    { requiredKeys: [] },
  ),
);

/** A payload is not allowed to start an agent by chance: these would be valid creations. */
function couldCreate(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return typeof v.query === 'string' && v.query.trim() !== '';
}

async function inBatches<T>(items: T[], run: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += CONCURRENCY) {
    await Promise.all(items.slice(i, i + CONCURRENCY).map(run));
  }
}

describe(`${2 * RUNS_PER_SURFACE} randomized malformed payloads (seed ${SEED})`, () => {
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    // A limit this high keeps the answers about the payloads, not about the rate.
    server = await startTestServer({ env: { JELMORE_RATE_LIMIT_PER_MINUTE: '100000000' } });
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  it('REST: every one gets a 4xx with an error code; none gets a 5xx', async () => {
    type Call = { method: 'get' | 'post' | 'delete'; path: string; body?: unknown };
    const routes: Array<(payload: unknown) => Call> = [
      (body: unknown) => ({ method: 'post' as const, path: '/v1/sessions', body }),
      (body: unknown) => ({
        method: 'post' as const,
        path: `/v1/sessions/${pick(body)}/input`,
        body,
      }),
      (body: unknown) => ({
        method: 'post' as const,
        path: `/v1/sessions/${pick(body)}/interrupt`,
        body,
      }),
      (body: unknown) => ({
        method: 'get' as const,
        path: `/v1/sessions/${pick(body)}/events?after=${encodeURIComponent(text(body).slice(0, 500))}`,
      }),
      (body: unknown) => ({ method: 'get' as const, path: `/v1/sessions/${pick(body)}` }),
      (body: unknown) => ({ method: 'delete' as const, path: `/v1/sessions/${pick(body)}` }),
    ];
    const samples = fc.sample(fc.tuple(fc.nat(routes.length - 1), junk), {
      seed: SEED,
      numRuns: RUNS_PER_SURFACE,
    });
    const statuses = new Map<number, number>();
    await inBatches(samples, async ([route, payload]) => {
      if (route === 0 && couldCreate(payload)) return;
      const { method, path, body } = routes[route](payload);
      let req = request(server.url)[method](path);
      if (body !== undefined)
        req = req.set('content-type', 'application/json').send(JSON.stringify(body));
      const res = await req;
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect({ path, status: res.status }).toEqual({ path, status: expect.any(Number) });
      if (res.status >= 500 || res.status < 400) {
        throw new Error(
          `${method} ${path} with ${JSON.stringify(body)?.slice(0, 200)} → ${res.status}`,
        );
      }
      if (typeof res.body?.error?.code !== 'string') {
        throw new Error(
          `${method} ${path} → ${res.status} without an error code: ${res.text.slice(0, 200)}`,
        );
      }
    });
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
  }, 180_000);

  it('WS: every one gets an error ack with a code; the server keeps serving', async () => {
    const events = [
      'session:create',
      'session:subscribe',
      'session:unsubscribe',
      'session:input',
      'session:interrupt',
      'session:suspend',
      'session:resume',
      'session:terminate',
    ];
    const samples = fc.sample(fc.tuple(fc.nat(events.length - 1), junk), {
      seed: SEED + 1,
      numRuns: RUNS_PER_SURFACE,
    });
    // A socket of its own: one left idle through the REST run has nothing to prove here.
    socket = await connect(server.url);
    const unanswered: string[] = [];
    const disconnects: string[] = [];
    socket.on('disconnect', (reason) => disconnects.push(reason));
    await inBatches(samples, async ([event, payload]) => {
      if (events[event] === 'session:create' && couldCreate(payload)) return;
      let ack: WsAck;
      try {
        ack = (await socket.timeout(5000).emitWithAck(events[event], payload)) as WsAck;
      } catch {
        unanswered.push(`${events[event]} ${text(payload).slice(0, 300)}`);
        return;
      }
      if (ack.ok) throw new Error(`${events[event]} accepted ${text(payload).slice(0, 200)}`);
      expect(typeof ack.error.code).toBe('string');
    });
    expect({ disconnects, unanswered: unanswered.slice(0, 5), count: unanswered.length }).toEqual({
      disconnects: [],
      unanswered: [],
      count: 0,
    });
    expect(socket.connected).toBe(true);
    await request(server.url).get('/health/live').expect(200);
  }, 180_000);
});

/** An id-ish value from a payload, so paths carry malformed and unknown ids alike. */
function pick(value: unknown): string {
  const id = (value as { sessionId?: unknown } | null)?.sessionId;
  return encodeURIComponent(text(id ?? value)).slice(0, 200) || 'x';
}

/** Any value as text (objects without a prototype have no toString). */
function text(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'undefined');
}
