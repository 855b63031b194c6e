import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { startTestServer, TestServer } from './support/app';
import { connect, request as wsRequest } from './support/ws-client';

describe('bad input gets a clear error with a code, and the server keeps serving', () => {
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    server = await startTestServer();
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  const wsCases: Array<[string, string, unknown, string]> = [
    ['unknown provider', 'session:create', { query: 'hi', provider: 'nope' }, 'PROVIDER_NOT_FOUND'],
    ['unknown model', 'session:create', { query: 'hi', model: 'gpt-4o' }, 'MODEL_NOT_SUPPORTED'],
    [
      'model of another provider',
      'session:create',
      { query: 'hi', provider: 'claude', model: 'kimi-k2' },
      'MODEL_NOT_SUPPORTED',
    ],
    ['empty query', 'session:create', { query: '' }, 'VALIDATION_FAILED'],
    ['missing query', 'session:create', {}, 'VALIDATION_FAILED'],
    ['query of the wrong type', 'session:create', { query: 42 }, 'VALIDATION_FAILED'],
    ['unknown field', 'session:create', { query: 'hi', shell: 'rm -rf /' }, 'VALIDATION_FAILED'],
    ['null payload', 'session:create', null, 'VALIDATION_FAILED'],
    ['string payload', 'session:create', 'hello', 'VALIDATION_FAILED'],
    ['array payload', 'session:subscribe', [1, 2], 'VALIDATION_FAILED'],
    [
      'cwd outside the workspace',
      'session:create',
      { query: 'hi', cwd: '../..' },
      'VALIDATION_FAILED',
    ],
    [
      'absolute cwd outside the workspace',
      'session:create',
      { query: 'hi', cwd: '/etc' },
      'VALIDATION_FAILED',
    ],
    ['subscribe to a non-uuid', 'session:subscribe', { sessionId: 'abc' }, 'VALIDATION_FAILED'],
    [
      'negative after',
      'session:subscribe',
      { sessionId: randomUUID(), after: -1 },
      'VALIDATION_FAILED',
    ],
    [
      'subscribe to an unknown session',
      'session:subscribe',
      { sessionId: randomUUID() },
      'SESSION_NOT_FOUND',
    ],
    [
      'input to an unknown session',
      'session:input',
      { sessionId: randomUUID(), text: 'x' },
      'SESSION_NOT_FOUND',
    ],
    ['empty input', 'session:input', { sessionId: randomUUID(), text: '' }, 'VALIDATION_FAILED'],
    [
      'interrupt an unknown session',
      'session:interrupt',
      { sessionId: randomUUID() },
      'SESSION_NOT_FOUND',
    ],
    [
      'terminate an unknown session',
      'session:terminate',
      { sessionId: randomUUID() },
      'SESSION_NOT_FOUND',
    ],
  ];

  it.each(wsCases)('WS %s → error ack', async (_name, event, payload, code) => {
    const ack = await wsRequest(socket, event, payload);
    expect(ack.ok).toBe(false);
    if (ack.ok) return;
    expect(ack.error.code).toBe(code);
    expect(ack.error.message.length).toBeGreaterThan(0);
    expect(ack.error.message).not.toMatch(/at .*\.(ts|js):\d+/);
  });

  const restCases: Array<
    [string, 'get' | 'post' | 'delete', string, object | undefined, number, string]
  > = [
    [
      'unknown provider',
      'post',
      '/v1/sessions',
      { query: 'hi', provider: 'nope' },
      404,
      'PROVIDER_NOT_FOUND',
    ],
    [
      'unknown model',
      'post',
      '/v1/sessions',
      { query: 'hi', model: 'gpt-4o' },
      400,
      'MODEL_NOT_SUPPORTED',
    ],
    ['empty query', 'post', '/v1/sessions', { query: '' }, 400, 'VALIDATION_FAILED'],
    ['no body', 'post', '/v1/sessions', undefined, 400, 'VALIDATION_FAILED'],
    ['unknown field', 'post', '/v1/sessions', { query: 'hi', extra: 1 }, 400, 'VALIDATION_FAILED'],
    ['non-uuid id', 'get', '/v1/sessions/not-a-uuid', undefined, 400, 'VALIDATION_FAILED'],
    ['unknown session', 'get', `/v1/sessions/${randomUUID()}`, undefined, 404, 'SESSION_NOT_FOUND'],
    [
      'events of an unknown session',
      'get',
      `/v1/sessions/${randomUUID()}/events`,
      undefined,
      404,
      'SESSION_NOT_FOUND',
    ],
    [
      'bad after',
      'get',
      `/v1/sessions/${randomUUID()}/events?after=abc`,
      undefined,
      400,
      'VALIDATION_FAILED',
    ],
    [
      'input without text',
      'post',
      `/v1/sessions/${randomUUID()}/input`,
      {},
      400,
      'VALIDATION_FAILED',
    ],
    [
      'terminate an unknown session',
      'delete',
      `/v1/sessions/${randomUUID()}`,
      undefined,
      404,
      'SESSION_NOT_FOUND',
    ],
    ['unknown route', 'get', '/v1/nothing-here', undefined, 404, 'NOT_FOUND'],
  ];

  it.each(restCases)('REST %s → %s', async (_name, method, path, body, status, code) => {
    const req = request(server.url)[method](path);
    const res = await (body ? req.send(body) : req).expect(status);
    expect(res.body.error.code).toBe(code);
  });

  it('REST malformed JSON → 400 with a code', async () => {
    const res = await request(server.url)
      .post('/v1/sessions')
      .set('content-type', 'application/json')
      .send('{"query": ')
      .expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('input to a finished session says it is not active', async () => {
    const http = request(server.url);
    const created = await http.post('/v1/sessions').send({ query: 'short' }).expect(201);
    await http.delete(`/v1/sessions/${created.body.id}`).expect(200);
    const res = await http
      .post(`/v1/sessions/${created.body.id}/input`)
      .send({ text: 'more' })
      .expect(409);
    expect(res.body.error.code).toBe('SESSION_NOT_ACTIVE');
  });

  it('still serves after all of that', async () => {
    await request(server.url).get('/health/live').expect(200);
    const ack = await wsRequest<{ session: { id: string } }>(socket, 'session:create', {
      query: 'fine',
    });
    expect(ack.ok).toBe(true);
    if (ack.ok) await wsRequest(socket, 'session:terminate', { sessionId: ack.session.id });
  });
});
