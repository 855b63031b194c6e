import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { eventually, processesMentioning, waitUntil } from './support/processes';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

describe('Claude Code sessions over Socket.IO (real CLI, fake model API)', () => {
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    server = await startTestServer({ fake: { slowDelayMs: 120 } });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  async function createSession(query: string): Promise<SessionResource> {
    const ack = await wsRequest<{ session: SessionResource }>(socket, 'session:create', { query });
    if (!ack.ok) throw new Error(`create failed: ${JSON.stringify(ack.error)}`);
    return ack.session;
  }

  async function subscribe(sessionId: string, after = 0, on: Socket = socket) {
    const events = new EventCollector(on, sessionId);
    const ack = await wsRequest<{ lastSeq: number }>(on, 'session:subscribe', { sessionId, after });
    expect(ack).toMatchObject({ ok: true });
    return events;
  }

  it('runs a tool the agent asked for, streams the reply in pieces, continues, and terminates cleanly', async () => {
    const session = await createSession('[[bash echo hello-from-agent > out.txt]]');
    expect(session).toMatchObject({ provider: 'claude', model: 'claude-sonnet-5-5' });
    expect(['starting', 'running']).toContain(session.state);
    const events = await subscribe(session.id);
    await events.waitForResults(1);

    const toolUse = events.ofType('tool_use')[0];
    expect(toolUse).toMatchObject({
      name: 'Bash',
      input: { command: 'echo hello-from-agent > out.txt' },
    });
    const toolResult = events.ofType('tool_result')[0];
    expect(toolResult).toMatchObject({ toolUseId: toolUse.id, isError: false });
    expect(toolResult.seq).toBeGreaterThan(toolUse.seq);
    // The real CLI ran the command in the session's own directory.
    expect(readFileSync(join(session.cwd, 'out.txt'), 'utf8').trim()).toBe('hello-from-agent');
    const result = events.ofType('result')[0];
    expect(result.text).toBe('Tool finished.');
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(events.ofType('usage')[0].costUsd).toBeGreaterThan(0);
    expect(events.ofType('status').map((s) => s.to)).toEqual(['starting', 'running', 'idle']);

    // Turn 2, streamed slowly by the fake: each piece reaches the client as the model produces it.
    const sent = await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: '[[slow 4]]',
    });
    expect(sent).toEqual({ ok: true });
    await events.waitForResults(2);
    const turn2 = events.events.filter((e) => e.seq > result.seq);
    const pieces = turn2.filter((e) => e.type === 'assistant');
    expect(pieces.map((e) => (e.type === 'assistant' ? e.text : ''))).toEqual([
      'piece 1. ',
      'piece 2. ',
      'piece 3. ',
      'piece 4. ',
    ]);
    const arrival = pieces.map((p) => events.receivedAt[events.events.indexOf(p)]);
    expect(arrival[3] - arrival[0]).toBeGreaterThanOrEqual(250);

    // The second request to the model carried the first turn's conversation.
    const secondTurnRequest = server.fake
      .agentRequests()
      .find((r) => textOf(lastUserContent(r)).includes('[[slow 4]]'));
    expect(secondTurnRequest).toBeDefined();
    const history = JSON.stringify(secondTurnRequest!.messages);
    expect(history).toContain('echo hello-from-agent > out.txt');
    expect(history).toContain('Tool finished.');

    // Every seq once, in order.
    expect(events.events.map((e) => e.seq)).toEqual(events.events.map((_, i) => i + 1));

    expect(processesMentioning(session.id).length).toBeGreaterThan(0);
    const terminated = await wsRequest<{ session: SessionResource }>(socket, 'session:terminate', {
      sessionId: session.id,
    });
    expect(terminated).toMatchObject({ ok: true, session: { state: 'terminated' } });
    expect(await eventually(() => processesMentioning(session.id).length === 0)).toBe(true);
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'terminated'));
  });

  it('replays the same events with the same seq to a late subscriber, then goes on live', async () => {
    const session = await createSession('hello replay');
    const early = await subscribe(session.id);
    await early.waitForResults(1);

    const other = await connect(server.url);
    try {
      const late = await subscribe(session.id, 0, other);
      await late.waitFor((all) => all.length >= early.events.length);
      expect(late.events).toEqual(early.events);

      // From the middle: only what came after.
      const middle = early.events[3].seq;
      const third = await connect(server.url);
      const partial = await subscribe(session.id, middle, third);
      await partial.waitFor((all) => all.length >= early.events.length - middle);
      expect(partial.events).toEqual(early.events.slice(middle));
      third.disconnect();

      // Both see the next turn live, exactly once.
      await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'again' });
      await early.waitForResults(2);
      await late.waitForResults(2);
      expect(late.events).toEqual(early.events);
    } finally {
      other.disconnect();
    }
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('subscribing twice on one socket replaces the subscription instead of doubling events', async () => {
    const session = await createSession('twice');
    const events = new EventCollector(socket, session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: session.id });
    const second = await wsRequest<{ lastSeq: number }>(socket, 'session:subscribe', {
      sessionId: session.id,
    });
    if (!second.ok) throw new Error('second subscribe failed');
    await events.waitForResults(1);
    // The session's last event: each commit reaches a socket's subscriptions in turn, so once one copy
    // of it is here, a doubled subscription's copies of everything before it are here too.
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
    await events.waitFor((seen) =>
      seen.some((e) => e.type === 'status' && 'to' in e && e.to === 'terminated'),
    );
    // What was committed after the second subscription arrives exactly once.
    const later = events.events.map((e) => e.seq).filter((seq) => seq > second.lastSeq);
    expect(later.length).toBeGreaterThan(0);
    expect(new Set(later).size).toBe(later.length);
  });

  it('serves the same session over REST: create, events as JSON and as SSE with Last-Event-ID', async () => {
    const http = request(server.url);
    const created = await http
      .post('/v1/sessions')
      .send({ query: 'over rest', model: 'haiku' })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session.model).toBe('claude-haiku-5-5');
    const idle = await waitUntil(async () => {
      const res = await http.get(`/v1/sessions/${session.id}`).expect(200);
      return (res.body as SessionResource).state === 'idle';
    });
    expect(idle).toBe(true);
    const json = await http.get(`/v1/sessions/${session.id}/events?after=0`).expect(200);
    const events = json.body.events as Array<{ seq: number; type: string }>;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.some((e) => e.type === 'result')).toBe(true);
    const after2 = await http.get(`/v1/sessions/${session.id}/events?after=2`).expect(200);
    expect(after2.body.events[0].seq).toBe(3);

    // End the session so the SSE stream completes after the replay.
    await http.delete(`/v1/sessions/${session.id}`).expect(200);
    const sse = await http
      .get(`/v1/sessions/${session.id}/events`)
      .set('Accept', 'text/event-stream')
      .set('Last-Event-ID', '2')
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    expect(sse.headers['content-type']).toContain('text/event-stream');
    const ids = [...(sse.body as string).matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids[0]).toBe(3);
    expect(ids).toEqual(ids.map((_, i) => i + 3));
    expect(sse.body as string).toContain('"to":"terminated"');
    expect(existsSync(session.cwd)).toBe(true);

    // The session's usage counts in the per-provider metrics.
    const ended = (await http.get(`/v1/sessions/${session.id}`).expect(200))
      .body as SessionResource;
    expect(ended.usage.costUsd).toBeGreaterThan(0);
    const metrics = (await http.get('/v1/metrics').expect(200)).body;
    expect(metrics.total_sessions).toBeGreaterThanOrEqual(1);
    expect(metrics.providers.claude.total_sessions).toBe(metrics.total_sessions);
    expect(metrics.providers.claude.usage.costUsd).toBeGreaterThanOrEqual(ended.usage.costUsd);
    expect(metrics.usage.costUsd).toBe(metrics.providers.claude.usage.costUsd);
  });
});
