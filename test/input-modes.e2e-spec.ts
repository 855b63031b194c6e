import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

/**
 * `mode` of an input (REST and WS): queue, interrupt, steer. The real Claude Code CLI against the fake
 * Anthropic API shows the context an interrupt keeps; scripted agents (no model) show the refusals.
 */
describe('input modes', () => {
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    server = await startTestServer({
      fake: { slowDelayMs: 150 },
      env: { JELMORE_SCRIPTED_ENABLED: 'true' },
    });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  async function start(query: string, provider?: string) {
    const ack = await wsRequest<{ session: SessionResource }>(socket, 'session:create', {
      query,
      ...(provider ? { provider } : {}),
    });
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    const events = new EventCollector(socket, ack.session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: ack.session.id });
    return { session: ack.session, events };
  }

  const input = (id: string, body: object) =>
    request(server.url).post(`/v1/sessions/${id}/input`).send(body);

  /** The model request of the turn whose prompt contains `text`. */
  const modelRequestFor = (text: string) =>
    server.fake.agentRequests().find((r) => textOf(lastUserContent(r)).includes(text));

  it('interrupt stops the running turn, then runs the input next with the interrupted turn in its context', async () => {
    const { session, events } = await start('[[slow 40]] remember the word tangerine');
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 2);
    // Queued before: the interrupting input goes ahead of it, and it still runs after.
    await input(session.id, { text: 'queued behind', mode: 'queue' }).expect(202);
    await input(session.id, { text: 'which word?', mode: 'interrupt' }).expect(202, { ok: true });
    await events.waitForResults(3);
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));

    const results = events.ofType('result');
    expect(results[0].interrupted).toBe(true);
    const cut = events.ofType('assistant').filter((e) => e.seq < results[0].seq);
    expect(cut.length).toBeLessThan(40);
    // The CLI tells the model the last turn was cut short, in the same user message.
    expect(results.slice(1).map((r) => [r.text, r.interrupted])).toEqual([
      [expect.stringMatching(/^Echo: \[Request interrupted by user\]\s+which word\?$/), undefined],
      ['Echo: queued behind', undefined],
    ]);
    expect(events.ofType('error')).toHaveLength(0);
    // Context kept: the next turn's model request carries the interrupted turn, prompt and reply so far.
    const conversation = modelRequestFor('which word?')!.messages.filter(
      (m) => m.role !== 'system',
    );
    expect(conversation.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(JSON.stringify(conversation[0].content)).toContain('remember the word tangerine');
    // Two pieces had streamed when the input came.
    expect(JSON.stringify(conversation[1].content)).toContain('piece 1. piece 2. ');
    // One turn after the other, the session never idle in between.
    expect(events.ofType('status').map((s) => s.to)).toEqual(['starting', 'running', 'idle']);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('interrupt on an idle session just runs the input', async () => {
    const { session, events } = await start('hello', 'scripted');
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));
    const ack = await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'right away',
      mode: 'interrupt',
    });
    expect(ack).toEqual({ ok: true });
    await events.waitForResults(2);
    expect(events.ofType('result').map((r) => [r.text, r.interrupted])).toEqual([
      ['Echo: hello', undefined],
      ['Echo: right away', undefined],
    ]);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('queue (explicit, and by default) waits for the running turn', async () => {
    const { session, events } = await start('[[slow 4]]');
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'));
    const ack = await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'queued one',
      mode: 'queue',
    });
    expect(ack).toEqual({ ok: true });
    await input(session.id, { text: 'queued two' }).expect(202);
    await events.waitForResults(3);
    const results = events.ofType('result');
    expect(results.map((r) => r.interrupted)).toEqual([undefined, undefined, undefined]);
    expect(results.map((r) => r.text)).toEqual([
      expect.stringContaining('piece 4.'),
      'Echo: queued one',
      'Echo: queued two',
    ]);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('steer is refused with STEER_UNSUPPORTED on a provider that cannot, and changes nothing', async () => {
    const providers = await request(server.url).get('/v1/providers').expect(200);
    const scripted = (
      providers.body.providers as Array<{ name: string; capabilities: Record<string, unknown> }>
    ).find((p) => p.name === 'scripted');
    expect(scripted?.capabilities).toMatchObject({ steer: false, interrupt: true });

    const { session, events } = await start('[[events 100]] [[rate 100]] long', 'scripted');
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'));
    const refused = await input(session.id, { text: 'also this', mode: 'steer' }).expect(409);
    expect(refused.body.error).toEqual({
      code: 'STEER_UNSUPPORTED',
      message: expect.stringContaining("Provider 'scripted' cannot take input mid-turn"),
      details: { provider: 'scripted', sessionId: session.id },
    });
    const overWs = await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'also this',
      mode: 'steer',
    });
    expect(overWs).toMatchObject({ ok: false, error: { code: 'STEER_UNSUPPORTED' } });

    // The running turn went on to its end; nothing was queued: the next input is the next turn.
    await events.waitForResults(1);
    expect(events.ofType('result')[0].interrupted).toBeUndefined();
    expect(events.ofType('assistant')).toHaveLength(100);
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));
    // Idle too: refused whatever the state.
    await input(session.id, { text: 'also this', mode: 'steer' }).expect(409);
    await input(session.id, { text: 'next' }).expect(202);
    await events.waitForResults(2);
    expect(events.ofType('result')[1].text).toBe('Echo: next');
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('an unknown mode is 400 VALIDATION_FAILED naming it, over REST and WS', async () => {
    const { session, events } = await start('hello', 'scripted');
    await events.waitForResults(1);
    const rest = await input(session.id, { text: 'x', mode: 'sideways' }).expect(400);
    expect(rest.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { fields: ['mode'] },
    });
    expect(rest.body.error.message).toMatch(
      /^mode must be one of queue, interrupt, steer; got "sideways"/,
    );
    const ws = await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'x',
      mode: 'later',
    });
    expect(ws).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', details: { fields: ['mode'] } },
    });
    expect(!ws.ok && ws.error.message).toContain('"later"');
    await input(session.id, { text: 'x', mode: 7 }).expect(400);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });
});
