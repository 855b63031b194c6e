import { Injectable, Module } from '@nestjs/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionEvent, SessionResource, TurnBlock } from '@jelmore/contracts';
import {
  InputRefused,
  type SessionContext,
  SessionMiddleware,
  StoreConnection,
} from '@jelmore/sessions';
import { FAKE } from '../libs/sessions/src/middleware/redactor/fake-secrets.spec-helpers';
import { defaultScript, lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { pngImage, sha256 } from './support/media';
import { connect, EventCollector, request as wsRequest, startSession } from './support/ws-client';

const ALICE_KEY = 'alice-key-0123456789abcdef';
const auth = { Authorization: `Bearer ${ALICE_KEY}` };
const PREFIX = 'Operator prefix: be brief.';
/** What must never be logged: an Anthropic key, the server's own API key, an operator pattern's match. */
const SECRETS = [FAKE.anthropic, ALICE_KEY, 'corp-123456'];

/** The operator's own middleware: refuses inputs that say "forbidden", and fails on "explode". */
@SessionMiddleware({ name: 'gatekeeper' })
@Injectable()
class Gatekeeper implements SessionMiddleware {
  readonly seen: SessionContext[] = [];

  onInput(session: SessionContext, blocks: TurnBlock[]): TurnBlock[] {
    this.seen.push({ ...session });
    const text = blocks.map((b) => (b.type === 'text' ? b.text : '')).join(' ');
    if (text.includes('forbidden')) throw new InputRefused('the word "forbidden" is not allowed');
    if (text.includes('explode')) throw new Error('gatekeeper exploded');
    return blocks;
  }
}

@Module({ providers: [Gatekeeper] })
class GatekeeperModule {}

describe('Session middleware (real Claude CLI, fake model API)', () => {
  let server: TestServer;
  let socket: Socket;
  let configDir: string;

  beforeAll(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'jelmore-middleware-'));
    const config = join(configDir, 'jelmore.json');
    writeFileSync(
      config,
      JSON.stringify({
        middleware: { redactor: { patterns: ['corp-[0-9]{6}'] }, prompt: { prefix: PREFIX } },
      }),
    );
    server = await startTestServer({
      env: { JELMORE_API_KEYS: `alice:${ALICE_KEY}`, JELMORE_CONFIG: config },
      imports: [GatekeeperModule],
      fake: {
        // `[[split key]]`: a reply that streams a key in pieces cut in its middle, as a real model may.
        script: (req) =>
          textOf(lastUserContent(req)).includes('[[split key]]')
            ? { kind: 'text', pieces: chunks(`Your key is ${FAKE.github}, keep it safe.`, 7) }
            : defaultScript(200)(req),
      },
    });
    socket = await connect(server.url, ALICE_KEY);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  const expectNoSecret = (what: unknown) => {
    const text = JSON.stringify(what);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
  };

  async function replay(id: string): Promise<SessionEvent[]> {
    const res = await request(server.url).get(`/v1/sessions/${id}/events`).set(auth).expect(200);
    return (res.body as { events: SessionEvent[] }).events;
  }

  async function idle(events: EventCollector, turns: number): Promise<void> {
    await events.waitFor(
      (all) =>
        all.filter((e) => e.type === 'result').length >= turns &&
        all.filter((e) => e.type === 'status' && e.to === 'idle').length >= turns,
    );
  }

  it('redacts secrets in the live events, the replay and the stored rows; the agent gets the input as sent, with the prefix', async () => {
    const query = `Repeat: ${SECRETS.join(' and ')} please`;
    const { session, events } = await startSession(socket, { query });
    await idle(events, 1);

    // The model (through the real CLI) had the query as the client sent it, after the prefix.
    const asked = textOf(lastUserContent(server.fake.agentRequests().at(-1)!));
    expect(asked).toContain(PREFIX);
    expect(asked).toContain(FAKE.anthropic);

    // It echoed the secrets; the log has them redacted, live and in the replay.
    const live = events.events;
    const [user] = events.ofType('user');
    expect(user.content).toEqual([
      {
        type: 'text',
        text: 'Repeat: [REDACTED:anthropic_key] and [REDACTED:jelmore_key] and [REDACTED:custom] please',
      },
    ]);
    const result = events.ofType('result')[0];
    expect(result.text).toContain(
      '[REDACTED:anthropic_key] and [REDACTED:jelmore_key] and [REDACTED:custom] please',
    );
    expect(result.text).toContain(PREFIX);
    const streamed = events
      .ofType('assistant')
      .map((e) => e.text)
      .join('');
    expect(streamed).toContain('[REDACTED:anthropic_key]');
    expectNoSecret(live);
    const replayed = await replay(session.id);
    expect(replayed.map((e) => e.seq)).toEqual(live.map((e) => e.seq));
    expectNoSecret(replayed);
    // A late subscriber replays from the log: the same.
    const late = await connect(server.url, ALICE_KEY);
    const again = new EventCollector(late, session.id);
    await wsRequest(late, 'session:subscribe', { sessionId: session.id, after: 0 });
    await again.waitFor((all) => all.length >= live.length);
    expectNoSecret(again.events);
    late.disconnect();

    // Nor are they in the database: the events, or the session's title.
    const db = server.app.get(StoreConnection).db;
    const rows = await db
      .selectFrom('events')
      .selectAll()
      .where('session_id', '=', session.id)
      .execute();
    expect(rows.length).toBe(live.length);
    expectNoSecret(rows);
    const stored = await db
      .selectFrom('sessions')
      .selectAll()
      .where('id', '=', session.id)
      .execute();
    expectNoSecret(stored);
    expect(stored[0].title).toContain('[REDACTED:anthropic_key]');

    const gatekeeper = server.app.get(Gatekeeper);
    expect(gatekeeper.seen.at(-1)).toEqual({
      id: session.id,
      owner: 'alice',
      provider: 'claude',
      model: session.model,
    });
  });

  it('redacts a key the model streams in pieces cut in its middle', async () => {
    const { events } = await startSession(socket, { query: '[[split key]]' });
    await idle(events, 1);
    const pieces = events.ofType('assistant').map((e) => e.text);
    expect(pieces.join('')).toBe('Your key is [REDACTED:github_token], keep it safe.');
    // Streamed as it came: the text before the key and after it in pieces of their own.
    expect(pieces[0]).toBe('Your ke');
    expect(pieces.length).toBeGreaterThan(3);
    // Not even its first characters went out before the rest came.
    expect(JSON.stringify(events.events)).not.toContain('ghp_');
  });

  it('refuses a forbidden first turn with 422 INPUT_REFUSED, over REST and Socket.IO: nothing starts', async () => {
    const before = (await request(server.url).get('/v1/sessions').set(auth).expect(200))
      .body as SessionResource[];
    const calls = server.fake.requests.length;

    const res = await request(server.url)
      .post('/v1/sessions')
      .set(auth)
      .send({ query: 'do the forbidden thing' })
      .expect(422);
    expect(res.body.error).toEqual({
      code: 'INPUT_REFUSED',
      message: `Input refused by middleware 'gatekeeper': the word "forbidden" is not allowed`,
      details: { middleware: 'gatekeeper', reason: 'the word "forbidden" is not allowed' },
    });
    const ack = await wsRequest(socket, 'session:create', { query: 'forbidden, again' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'INPUT_REFUSED' } });

    // Its inline image is an unused upload (the cleanup deletes it), linked to no session.
    const image = pngImage(23);
    await request(server.url)
      .post('/v1/sessions')
      .set(auth)
      .send({
        query: [
          { type: 'text', text: 'forbidden, with a picture' },
          { type: 'image', mediaType: 'image/png', data: image.toString('base64') },
        ],
      })
      .expect(422);
    const db = server.app.get(StoreConnection).db;
    const kept = await db
      .selectFrom('attachments')
      .select('id')
      .where('sha256', '=', sha256(image))
      .execute();
    expect(kept).toHaveLength(1);
    const links = await db
      .selectFrom('session_attachments')
      .selectAll()
      .where('attachment_id', '=', kept[0].id)
      .execute();
    expect(links).toEqual([]);

    const after = (await request(server.url).get('/v1/sessions').set(auth).expect(200))
      .body as SessionResource[];
    expect(after.length).toBe(before.length);
    expect(server.fake.requests.length).toBe(calls);
  });

  it('refuses later input the same way, queues nothing, and a middleware that throws fails only that turn', async () => {
    const { session, events } = await startSession(socket, { query: 'hello' });
    await idle(events, 1);
    const seen = () => events.events.length;
    const count = seen();

    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .set(auth)
      .send({ text: 'something forbidden' })
      .expect(422)
      .expect((res) => expect(res.body.error.code).toBe('INPUT_REFUSED'));
    const ack = await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'forbidden too',
    });
    expect(ack).toMatchObject({
      ok: false,
      error: { code: 'INPUT_REFUSED', details: { middleware: 'gatekeeper' } },
    });

    // Throwing fails the turn: the request says so, an error event names the middleware, the session stays idle.
    const failed = await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .set(auth)
      .send({ text: 'please explode' })
      .expect(500);
    expect(failed.body.error).toEqual({
      code: 'MIDDLEWARE_FAILED',
      message: "Middleware 'gatekeeper' failed on the input: the turn was not run",
      details: { middleware: 'gatekeeper' },
    });
    await events.waitFor((all) => all.some((e) => e.type === 'error'));
    expect(events.events.slice(count)).toEqual([
      expect.objectContaining({
        type: 'error',
        code: 'MIDDLEWARE_FAILED',
        message: "Middleware 'gatekeeper' failed on the input: the turn was not run",
      }),
    ]);
    const resource = await request(server.url)
      .get(`/v1/sessions/${session.id}`)
      .set(auth)
      .expect(200);
    expect(resource.body.state).toBe('idle');

    // The server and the session go on: the next input is a turn like any other.
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .set(auth)
      .send({ text: 'still here?' })
      .expect(202);
    await idle(events, 2);
    const users = events.ofType('user').map((e) => e.content);
    expect(users).toEqual([
      [{ type: 'text', text: 'hello' }],
      [{ type: 'text', text: 'still here?' }],
    ]);
    expect(events.ofType('result')[1].text).toContain('still here?');

    // A first turn whose middleware throws creates no session.
    await request(server.url)
      .post('/v1/sessions')
      .set(auth)
      .send({ query: 'explode at once' })
      .expect(500)
      .expect((res) => expect(res.body.error.code).toBe('MIDDLEWARE_FAILED'));
  });
});

function chunks(text: string, size: number): string[] {
  return Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
    text.slice(i * size, (i + 1) * size),
  );
}
