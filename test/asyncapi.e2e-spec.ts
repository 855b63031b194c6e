import { Parser, type AsyncAPIDocumentInterface } from '@asyncapi/parser';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { io, type Socket } from 'socket.io-client';
import { PacketType, type Packet } from 'socket.io-parser';
import request from 'supertest';
import {
  WS_NAMESPACE,
  WsClientEvents,
  type SessionEvent,
  type SessionResource,
  type WsAck,
} from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';

const KEY = 'alice-key-0123456789abcdef';
const JSON_PATH = '/docs/asyncapi.json';

/** A payload that crossed the wire, under the name of the document's message it must match. */
interface Recorded {
  message: string;
  payload: unknown;
  /** A client payload the server refused as invalid: the document's schema must refuse it too. */
  refused?: boolean;
}

/**
 * A Socket.IO client that records what it sends and what it receives: each event it emits with its
 * payload and the ack it gets back, and every packet the server sends it, decoded as it arrived.
 */
class RecordingClient {
  readonly socket: Socket;
  readonly connected: Promise<void>;

  constructor(
    url: string,
    private readonly log: Recorded[],
    token?: string,
  ) {
    this.socket = io(`${url}${WS_NAMESPACE}`, {
      transports: ['websocket'],
      reconnection: false,
      ...(token ? { auth: { token } } : {}),
    });
    // Every packet the server sends, decoded, as the manager hands it to its sockets.
    this.socket.io.on('packet', (packet: Packet) => {
      if (packet.nsp !== WS_NAMESPACE) return;
      if (packet.type === PacketType.EVENT) {
        const [event, ...args] = packet.data as [string, ...unknown[]];
        // One payload per server event, as the document says.
        expect({ event, args: args.length }).toEqual({ event, args: 1 });
        log.push({ message: event, payload: args[0] });
      } else if (packet.type === PacketType.CONNECT_ERROR) {
        log.push({ message: 'connect_error', payload: packet.data });
      }
    });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('connect_error', reject);
    });
  }

  async call<T extends object>(event: string, payload: object): Promise<WsAck<T>> {
    const sent: Recorded = { message: event, payload };
    this.log.push(sent);
    const ack = (await this.socket.timeout(30_000).emitWithAck(event, payload)) as WsAck<T>;
    sent.refused = !ack.ok && ack.error.code === 'VALIDATION_FAILED';
    this.log.push({ message: `${event} ack`, payload: ack });
    return ack;
  }

  /** Resolves once the recorded events of a session satisfy `done`. */
  async waitFor(done: (events: SessionEvent[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.events())) {
      if (Date.now() > deadline) throw new Error(`timed out; saw ${this.events().length} events`);
      await new Promise((resolve) => this.socket.once('session:events', resolve));
    }
  }

  events(): SessionEvent[] {
    return this.log.flatMap((r) =>
      r.message === 'session:events'
        ? (r.payload as SessionEvent[])
        : r.message === 'session:event'
          ? [r.payload as SessionEvent]
          : [],
    );
  }
}

/**
 * Every object schema that lists its properties is closed here: traffic with a field the document does
 * not name fails, where the document itself leaves room for fields added later.
 */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [key, key === 'examples' ? value : closed(value)]),
  );
  if ('properties' in copy && !('additionalProperties' in copy)) copy.additionalProperties = false;
  return copy;
}

/** A validator per message name (`<event>` and `<event> ack` for the replies), from the parsed document. */
function validators(document: AsyncAPIDocumentInterface): Map<string, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const byName = new Map<string, ValidateFunction>();
  for (const operation of document.operations().all()) {
    const [message] = operation.messages().all();
    const name = message.name()!;
    byName.set(name, ajv.compile(closed(message.payload()!.json()) as object));
    const [reply] = operation.reply()?.messages().all() ?? [];
    if (reply) byName.set(`${name} ack`, ajv.compile(closed(reply.payload()!.json()) as object));
  }
  return byName;
}

describe(`AsyncAPI document of the Socket.IO protocol (${JSON_PATH})`, () => {
  let server: TestServer | undefined;
  let text: string;
  let document: AsyncAPIDocumentInterface;

  beforeAll(async () => {
    server = await startTestServer({
      env: { JELMORE_API_KEYS: `alice:${KEY}`, JELMORE_SCRIPTED_ENABLED: 'true' },
    });
    const res = await request(server.url).get(JSON_PATH).expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    text = res.text;
    const parsed = await new Parser().parse(text);
    document = parsed.document!;
  });

  afterAll(async () => {
    await server?.close();
  });

  it('is valid AsyncAPI 3: @asyncapi/parser reports no error nor warning', async () => {
    const diagnostics = await new Parser().validate(text);
    // Severity 0 is an error, 1 a warning (2 and 3: infos and hints).
    const errors = diagnostics.filter((d) => Number(d.severity) <= 1);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document.version()).toMatch(/^3\./);
    expect(
      document
        .channels()
        .all()
        .map((c) => c.address()),
    ).toEqual([WS_NAMESPACE]);
  });

  it('is public like /docs, with a page that loads nothing from elsewhere', async () => {
    // The key-protected API answers 401 without a key; these do not.
    await request(server!.url).get('/v1/sessions').expect(401);
    const page = await request(server!.url).get('/docs/asyncapi').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).not.toMatch(/<script|<link|\bsrc=|https?:\/\//i);
    for (const event of [...Object.values(WsClientEvents), 'session:events', 'server:shutdown']) {
      expect(page.text).toContain(`<code>${event}</code>`);
    }
    expect(page.text).toContain(`href="${JSON_PATH}"`);
  });

  it('has examples that match its own schemas', () => {
    const validate = validators(document);
    const wrong: string[] = [];
    for (const operation of document.operations().all()) {
      const messages = [
        ...operation
          .messages()
          .all()
          .map((m) => [m.name()!, m] as const),
        ...(operation.reply()?.messages().all() ?? []).map(
          (m) => [`${operation.messages().all()[0].name()} ack`, m] as const,
        ),
      ];
      for (const [name, message] of messages) {
        const examples = message.examples().all();
        if (examples.length === 0) wrong.push(`${name}: no example`);
        for (const example of examples) {
          if (!validate.get(name)!(example.payload())) {
            wrong.push(`${name}: ${JSON.stringify(validate.get(name)!.errors)}`);
          }
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('describes the real traffic of a session: every payload sent and received matches its message', async () => {
    const log: Recorded[] = [];
    const validate = validators(document);

    // A handshake without a key is refused.
    const anonymous = new RecordingClient(server!.url, log);
    await expect(anonymous.connected).rejects.toThrow(/API key/);
    anonymous.socket.close();

    const client = new RecordingClient(server!.url, log, KEY);
    await client.connected;
    const created = await client.call<{ session: SessionResource }>('session:create', {
      query: '[[tool]] hello there',
      provider: 'scripted',
    });
    if (!created.ok) throw new Error(JSON.stringify(created.error));
    const sessionId = created.session.id;
    // Counted by seq: a re-subscription replays some of them.
    const results = (n: number) => (events: SessionEvent[]) =>
      new Set(events.filter((e) => e.type === 'result').map((e) => e.seq)).size >= n;
    await client.call('session:subscribe', { sessionId, after: 0 });
    await client.waitFor(results(1));
    await client.call('session:input', { sessionId, text: '[[events 30]] [[rate 0]] more' });
    await client.waitFor(results(2));
    // A long turn, cut short.
    await client.call('session:input', { sessionId, text: '[[events 500]] [[rate 50]] long' });
    await client.waitFor((events) => events.some((e) => e.type === 'assistant' && e.seq > 40));
    await client.call('session:interrupt', { sessionId });
    await client.waitFor(results(3));
    // Refused: nothing asked for this permission.
    await client.call('permission:reply', { sessionId, requestId: 'not-asked', allow: true });
    await client.call('session:suspend', { sessionId });
    await client.call('session:resume', { sessionId });
    await client.call('session:unsubscribe', { sessionId });
    await client.call('session:subscribe', { sessionId, after: 3 });
    await client.call('session:input', { sessionId, text: 'after resume' });
    await client.waitFor(results(4));
    // Input modes on a running turn: steer is refused (scripted cannot), interrupt cuts it short.
    const before = Math.max(...client.events().map((e) => e.seq));
    await client.call('session:input', { sessionId, text: '[[events 500]] [[rate 50]] long' });
    await client.waitFor((events) => events.some((e) => e.type === 'assistant' && e.seq > before));
    const steer = await client.call('session:input', { sessionId, text: 'also', mode: 'steer' });
    expect(steer).toMatchObject({ ok: false, error: { code: 'STEER_UNSUPPORTED' } });
    await client.call('session:input', { sessionId, text: 'instead', mode: 'interrupt' });
    await client.waitFor(results(6));
    // A fork at its first turn; a rewind needs a checkpoint, which a folder outside git has none of.
    const fork = await client.call<{ session: SessionResource }>('session:fork', {
      sessionId,
      turn: 1,
    });
    expect(fork).toMatchObject({
      ok: true,
      session: { parentId: sessionId, forkedFrom: { turn: 1 } },
    });
    const rewind = await client.call('session:rewind', { sessionId, turn: 1 });
    expect(rewind).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_NOT_FOUND' } });
    if (fork.ok) await client.call('session:terminate', { sessionId: fork.session.id });
    // Malformed payloads: the schemas must refuse what the server refuses.
    await client.call('session:input', { sessionId, text: '' });
    await client.call('session:input', { sessionId, text: 'hi', mode: 'sideways' });
    await client.call('session:subscribe', { sessionId: 'not-a-uuid' });
    await client.call('session:subscribe', { sessionId, after: -1 });
    await client.call('session:create', { query: 'hi', requirements: { cost_sensitive: 'yes' } });
    await client.call('permission:reply', { sessionId, requestId: 'r 1', allow: true });
    await client.call('session:terminate', { sessionId });
    await client.waitFor((events) =>
      events.some((e) => e.type === 'status' && e.to === 'terminated'),
    );

    // The node goes away with the client connected: it is told first.
    const shutdown = new Promise((resolve) => client.socket.once('server:shutdown', resolve));
    await server!.close();
    server = undefined;
    await shutdown;
    client.socket.close();

    const wrong = log
      .filter((r) => validate.get(r.message)?.(r.payload) !== !r.refused)
      .map((r) => ({
        message: r.message,
        payload: JSON.stringify(r.payload).slice(0, 300),
        refusedByServer: r.refused ?? false,
        errors: validate.get(r.message)?.errors ?? 'no such message in the document',
      }));
    expect(wrong).toEqual([]);
    expect(log.filter((r) => r.refused)).toHaveLength(6);

    // What this traffic did not show; each is checked by its typed example above instead.
    const seen = new Set(log.map((r) => r.message));
    const unseen = [...validate.keys()].filter((name) => !seen.has(name));
    expect(unseen.sort()).toEqual([
      // Only a lagging client gets it (test/slow-consumer.e2e-spec.ts).
      'session:error',
      // The gateway sends batches; clients handle single events too.
      'session:event',
    ]);
    const types = new Set(client.events().map((e) => e.type));
    expect([...types].sort()).toEqual([
      'assistant',
      'result',
      'status',
      'tool_result',
      'tool_use',
      'usage',
      'user',
    ]);
  }, 120_000);
});
