import { randomUUID } from 'node:crypto';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import { WS_NAMESPACE } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { connect, request as wsRequest } from './support/ws-client';

/** About 20 KB of JSON: `{"a":{"a":...1}}` 4,000 levels down. */
const DEEP_OBJECT = '{"a":'.repeat(4000) + '1' + '}'.repeat(4000);
/** 10,000 levels of arrays in 20 KB. */
const DEEP_ARRAY = '['.repeat(10_000) + ']'.repeat(10_000);
/** Nearly the largest message the server takes (a query of the longest length, about 460 KB): all nesting. */
const DEEPEST = 225_000;

/**
 * Emits an event as a raw packet and resolves with its ack: socket.io-client's encoder walks a payload
 * recursively, so it cannot send what a hand-made client can.
 */
function rawEmitWithAck(socket: Socket, event: string, json: string): Promise<unknown> {
  const id = 1_000_000 + Math.floor(Math.random() * 1_000_000);
  const head = `3${WS_NAMESPACE},${id}`;
  const engine = socket.io.engine;
  return new Promise((resolve) => {
    const onPacket = (packet: { type: string; data?: unknown }) => {
      if (packet.type !== 'message' || typeof packet.data !== 'string') return;
      if (!packet.data.startsWith(`${head}[`)) return;
      engine.off('packet', onPacket);
      resolve((JSON.parse(packet.data.slice(head.length)) as unknown[])[0]);
    };
    engine.on('packet', onPacket);
    engine.write(`2${WS_NAMESPACE},${id}[${JSON.stringify(event)},${json}]`);
  });
}

describe('a payload nested thousands of levels deep is refused before validation', () => {
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

  const post = (path: string, json: string) =>
    request(server.url).post(path).set('content-type', 'application/json').send(json);

  it.each([
    ['a body that is deep itself', '/v1/sessions', DEEP_ARRAY],
    ['requirements', '/v1/sessions', `{"query":"hi","requirements":${DEEP_OBJECT}}`],
    ['query', '/v1/sessions', `{"query":${DEEP_ARRAY}}`],
    ['input text', `/v1/sessions/${randomUUID()}/input`, `{"text":${DEEP_OBJECT}}`],
    ['a permission reply', `/v1/sessions/${randomUUID()}/permissions/r1`, DEEP_OBJECT],
  ])('REST: %s → 400 VALIDATION_FAILED', async (_name, path, json) => {
    const res = await post(path, json);
    expect({ status: res.status, error: res.body.error }).toEqual({
      status: 400,
      error: expect.objectContaining({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/nested deeper than \d+ levels/),
      }),
    });
  });

  it.each([
    ['session:create', () => ({ query: 'hi', requirements: JSON.parse(DEEP_OBJECT) })],
    ['session:create', () => JSON.parse(DEEP_OBJECT)],
    ['session:subscribe', () => ({ sessionId: randomUUID(), after: JSON.parse(DEEP_OBJECT) })],
    ['session:input', () => ({ sessionId: randomUUID(), text: JSON.parse(DEEP_OBJECT) })],
    ['permission:reply', () => ({ sessionId: randomUUID(), requestId: JSON.parse(DEEP_OBJECT) })],
  ])('WS: %s → a VALIDATION_FAILED ack', async (event, payload) => {
    const ack = await wsRequest(socket, event, payload());
    expect(ack).toEqual({
      ok: false,
      error: expect.objectContaining({
        code: 'VALIDATION_FAILED',
        message: expect.stringMatching(/nested deeper than \d+ levels/),
      }),
    });
  });

  it('the largest body or packet the server takes, nested all the way down, is refused alike', async () => {
    const deepest = '['.repeat(DEEPEST) + ']'.repeat(DEEPEST);
    // express.json parses it (V8's JSON.parse does not recurse); the bound stops it before the DTO.
    const res = await post('/v1/sessions', `{"query":"hi","requirements":${deepest}}`);
    expect({ status: res.status, code: res.body.error?.code }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    const ack = await rawEmitWithAck(socket, 'session:create', `{"query":"hi","cwd":${deepest}}`);
    expect(ack).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
  });

  it('names the field, and still takes a payload as deep as a real one', async () => {
    const res = await post('/v1/sessions', `{"query":"hi","requirements":${DEEP_OBJECT}}`);
    expect(res.body.error).toMatchObject({
      message: expect.stringContaining('(at requirements)'),
      details: { fields: ['requirements'] },
    });
    // Real payloads are a few levels deep: these get past the bound to the usual validation.
    const shallow = await post(
      '/v1/sessions',
      JSON.stringify({ query: 'hi', requirements: { capabilities: [['tools']] } }),
    ).expect(400);
    expect(shallow.body.error.message).not.toMatch(/nested deeper/);
    const ack = await wsRequest(socket, 'session:subscribe', { sessionId: randomUUID() });
    expect(ack).toMatchObject({ ok: false, error: { code: 'SESSION_NOT_FOUND' } });
    await request(server.url).get('/health/live').expect(200);
    expect(socket.connected).toBe(true);
  });
});
