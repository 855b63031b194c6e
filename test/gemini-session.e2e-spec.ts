import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import {
  CACHED_TOKENS,
  CANDIDATES_TOKENS,
  FakeGeminiServer,
  GenerateRequest,
  PROMPT_TOKENS,
  SHELL_TOOL,
  THOUGHTS_TOKENS,
  userText,
} from './fixtures/fake-gemini';
import { startTestServer, TestServer } from './support/app';
import { eventually, processesIn, processesMentioning, waitUntil } from './support/processes';
import { connect, EventCollector, request as wsRequest, startSession } from './support/ws-client';

/** One model call of the fake, priced at a model's list prices (cached input at a tenth). */
function callCost(inputPrice: number, outputPrice: number): number {
  const fresh = PROMPT_TOKENS - CACHED_TOKENS;
  const output = CANDIDATES_TOKENS + THOUGHTS_TOKENS;
  return ((fresh + CACHED_TOKENS * 0.1) * inputPrice + output * outputPrice) / 1e6;
}

describe('Gemini CLI sessions (real gemini CLI, fake Gemini API)', () => {
  const models = new FakeGeminiServer({ slowDelayMs: 150 });
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    const baseUrl = await models.start();
    // The provider reads its settings from the environment, as in production.
    process.env.JELMORE_GEMINI_BASE_URL = baseUrl;
    process.env.JELMORE_GEMINI_API_KEY = 'test-key-not-secret';
    server = await startTestServer();
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
    delete process.env.JELMORE_GEMINI_BASE_URL;
    delete process.env.JELMORE_GEMINI_API_KEY;
  });

  const start = (payload: object) => startSession(socket, payload);

  const requestFor = (text: string): GenerateRequest | undefined =>
    models.agentRequests().find((r) => userText(r.contents[r.contents.length - 1]).includes(text));

  async function terminate(session: SessionResource, events: EventCollector): Promise<void> {
    const ack = await wsRequest<{ session: SessionResource }>(socket, 'session:terminate', {
      sessionId: session.id,
    });
    expect(ack).toMatchObject({ ok: true, session: { state: 'terminated' } });
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'terminated'));
    expect(await eventually(() => processesIn(session.cwd).length === 0)).toBe(true);
  }

  it('runs a tool in the session directory, resumes the conversation for turn 2, streams and prices both', async () => {
    const { session, events } = await start({
      provider: 'gemini',
      query: '[[bash echo hello-from-gemini > out.txt]]',
    });
    expect(session).toMatchObject({ provider: 'gemini', model: 'gemini-2.5-flash' });
    await events.waitForResults(1, 60_000);

    const toolUse = events.ofType('tool_use')[0];
    expect(toolUse).toMatchObject({
      name: SHELL_TOOL,
      input: { command: 'echo hello-from-gemini > out.txt' },
    });
    expect(events.ofType('tool_result')[0]).toMatchObject({
      toolUseId: toolUse.id,
      isError: false,
    });
    // The real CLI ran the command in the session's own directory.
    expect(readFileSync(join(session.cwd, 'out.txt'), 'utf8').trim()).toBe('hello-from-gemini');
    const first = events.ofType('result')[0];
    expect(first.text).toBe('Tool finished.');
    // Two model calls (the tool call, then the text after it), priced at gemini-2.5-flash's list prices.
    expect(first.usage).toMatchObject({
      inputTokens: 2 * PROMPT_TOKENS,
      outputTokens: 2 * (CANDIDATES_TOKENS + THOUGHTS_TOKENS),
    });
    expect(first.usage.costUsd).toBeCloseTo(2 * callCost(0.3, 2.5), 12);
    expect(events.ofType('usage')[0]).toMatchObject(first.usage);

    // Turn 2: a new CLI process that resumes the conversation; the fake streams it slowly.
    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: '[[slow 4]] what did I ask first?',
    });
    await events.waitForResults(2, 60_000);
    const second = events.ofType('result')[1];
    const pieces = events.events.filter((e) => e.seq > first.seq && e.type === 'assistant');
    expect(pieces.map((e) => (e.type === 'assistant' ? e.text : ''))).toEqual([
      'piece 1. ',
      'piece 2. ',
      'piece 3. ',
      'piece 4. ',
    ]);
    const arrival = pieces.map((p) => events.receivedAt[events.events.indexOf(p)]);
    expect(arrival[3] - arrival[0]).toBeGreaterThanOrEqual(300);
    expect(second.text).toBe('piece 1. piece 2. piece 3. piece 4. ');

    // The model request of turn 2 carried turn 1: the prompt, the function call and its response.
    const history = JSON.stringify(requestFor('what did I ask first?')?.contents);
    expect(history).toContain('[[bash echo hello-from-gemini > out.txt]]');
    expect(history).toContain(`"functionCall":{"id"`);
    expect(history).toContain('"functionResponse"');
    expect(history).toContain('Tool finished.');

    expect(events.ofType('status').map((s) => s.to)).toEqual([
      'starting',
      'running',
      'idle',
      'running',
      'idle',
    ]);
    expect(events.events.map((e) => e.seq)).toEqual(events.events.map((_, i) => i + 1));
    const resource = (await request(server.url).get(`/v1/sessions/${session.id}`).expect(200))
      .body as SessionResource;
    expect(resource.usage.costUsd).toBeCloseTo(3 * callCost(0.3, 2.5), 12);
    const metrics = (await request(server.url).get('/v1/metrics').expect(200)).body;
    expect(metrics.providers.gemini.usage.costUsd).toBeGreaterThanOrEqual(resource.usage.costUsd);

    await terminate(session, events);
  });

  it('interrupts a turn by ending its process, then continues the same conversation', async () => {
    const { session, events } = await start({ provider: 'gemini', query: '[[slow 40]]' });
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 2, 60_000);
    expect(processesIn(session.cwd).length).toBeGreaterThan(0);

    const startedAt = Date.now();
    expect(await wsRequest(socket, 'session:interrupt', { sessionId: session.id })).toEqual({
      ok: true,
    });
    await events.waitForResults(1);
    const interrupted = events.ofType('result')[0];
    expect(interrupted).toMatchObject({ interrupted: true });
    expect(interrupted.text).toMatch(/^piece 1\. piece 2\. /);
    // 40 pieces take 6 s: the interrupt cut the turn short.
    expect(Date.now() - startedAt).toBeLessThan(3000);
    expect(events.ofType('error')).toEqual([]);
    expect(await eventually(() => processesIn(session.cwd).length === 0)).toBe(true);

    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'after the interrupt',
    });
    await events.waitForResults(2, 60_000);
    expect(events.ofType('result')[1].text).toBe('Echo: after the interrupt');
    // Resumed, not started afresh: the interrupted prompt is in the history the model got.
    expect(JSON.stringify(requestFor('after the interrupt')?.contents)).toContain('[[slow 40]]');
    await terminate(session, events);
  });

  it('terminating during a tool call leaves no process: neither the CLI nor the command it runs', async () => {
    const { session, events } = await start({
      provider: 'gemini',
      query: '[[bash sleep 30.25 && echo never > late.txt]]',
    });
    await events.waitFor((all) => all.some((e) => e.type === 'tool_use'), 60_000);
    // The CLI's shell tool runs the command in a session of its own, outside the CLI's process group.
    expect(await eventually(() => processesMentioning('sleep 30.25').length > 0)).toBe(true);
    await terminate(session, events);
    expect(await eventually(() => processesMentioning('sleep 30.25').length === 0)).toBe(true);
  });

  it('picks the provider and model from a model alias and prices at that model', async () => {
    const { session, events } = await start({ model: 'gemini-pro', query: 'which model?' });
    expect(session).toMatchObject({ provider: 'gemini', model: 'gemini-2.5-pro' });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('result')[0].text).toBe('Echo: which model?');
    expect(
      models.requests.filter((r) => userText(r.body.contents.at(-1)) === 'which model?'),
    ).toHaveLength(1);
    expect(
      models.requests.find((r) => userText(r.body.contents.at(-1)) === 'which model?')?.model,
    ).toBe('gemini-2.5-pro');
    expect(events.ofType('usage')[0].costUsd).toBeCloseTo(callCost(1.25, 10), 12);
    await terminate(session, events);
  });

  it('a suspended conversation resumes on a restarted server from the history kept in the data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jelmore-gemini-restart-'));
    let first: TestServer | undefined = await startTestServer({ dir });
    let second: TestServer | undefined;
    const results = async (on: TestServer, id: string) => {
      const res = await request(on.url).get(`/v1/sessions/${id}/events?after=0`).expect(200);
      return (res.body.events as Array<{ type: string; text?: string }>)
        .filter((e) => e.type === 'result')
        .map((e) => e.text);
    };
    try {
      const created = await request(first.url)
        .post('/v1/sessions')
        .send({ provider: 'gemini', query: 'My name is Ada' })
        .expect(201);
      const id = (created.body as SessionResource).id;
      const on1 = first;
      expect(await waitUntil(async () => (await results(on1, id)).length === 1)).toBe(true);
      await request(first.url).post(`/v1/sessions/${id}/suspend`).expect(200);
      await first.close();
      first = undefined;

      const on2 = (second = await startTestServer({ dir }));
      await request(on2.url).post(`/v1/sessions/${id}/resume`).expect(200);
      await request(on2.url)
        .post(`/v1/sessions/${id}/input`)
        .send({ text: 'what is my name?' })
        .expect(202);
      expect(await waitUntil(async () => (await results(on2, id)).length === 2)).toBe(true);
      expect(await results(on2, id)).toEqual(['Echo: My name is Ada', 'Echo: what is my name?']);
      // The new server's CLI run resumed the conversation the first server's run saved.
      const history = JSON.stringify(requestFor('what is my name?')?.contents);
      expect(history).toContain('My name is Ada');
      expect(history).toContain('Echo: My name is Ada');
    } finally {
      await first?.close();
      await second?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a first turn the API refused is an error of that turn; the next turn starts the conversation', async () => {
    const { session, events } = await start({ provider: 'gemini', query: '[[fail]]' });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('error')[0]).toMatchObject({ code: 'AGENT_ERROR' });
    expect(events.ofType('error')[0].message).toContain('fake model refused the request');
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'second try' });
    await events.waitForResults(2, 60_000);
    expect(events.ofType('result')[1].text).toBe('Echo: second try');
    const resource = (await request(server.url).get(`/v1/sessions/${session.id}`).expect(200))
      .body as SessionResource;
    expect(resource.state).toBe('idle');
    await terminate(session, events);
  });
});
