import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { COMPLETION_TOKENS, FakeOpenAIServer, PROMPT_TOKENS } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { requestsTo, startOpencodeTestServer } from './support/opencode';
import { eventually, processesIn, processesMentioning, waitUntil } from './support/processes';
import { connect, request as wsRequest, startSession } from './support/ws-client';

async function stateOf(url: string, id: string): Promise<string> {
  return ((await request(url).get(`/v1/sessions/${id}`)).body as SessionResource).state;
}

describe('OpenCode sessions (real opencode serve, fake OpenAI-compatible API)', () => {
  const models = new FakeOpenAIServer({ slowDelayMs: 150 });
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    server = await startOpencodeTestServer(models);
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
  });

  const start = (payload: object) => startSession(socket, payload);

  it('keeps the conversation across turns, streams text in pieces and prices each turn', async () => {
    const { session, events } = await start({ provider: 'opencode', query: 'My name is Ada' });
    expect(session).toMatchObject({ provider: 'opencode', model: 'deepseek-chat' });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('result')[0].text).toBe('Echo: My name is Ada');
    expect(events.ofType('assistant').length).toBeGreaterThanOrEqual(3);

    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: '[[slow 4]] what is my name?',
    });
    await events.waitForResults(2);
    const [second] = requestsTo(models, 'what is my name?');
    const history = JSON.stringify(second.messages);
    expect(history).toContain('My name is Ada');
    expect(history).toContain('Echo: My name is Ada');
    const pieces = events.events.filter(
      (e) => e.seq > events.ofType('result')[0].seq && e.type === 'assistant',
    );
    expect(pieces).toHaveLength(4);
    const arrival = pieces.map((p) => events.receivedAt[events.events.indexOf(p)]);
    expect(arrival[3] - arrival[0]).toBeGreaterThanOrEqual(300);

    // Cost from the fake's usage numbers and deepseek-chat's price table ($0.27 / $1.10 per 1M).
    const usage = events.ofType('usage')[1];
    expect(usage).toMatchObject({ inputTokens: PROMPT_TOKENS, outputTokens: COMPLETION_TOKENS });
    expect(usage.costUsd).toBeCloseTo((PROMPT_TOKENS * 0.27 + COMPLETION_TOKENS * 1.1) / 1e6, 12);
    const resource = (await request(server.url).get(`/v1/sessions/${session.id}`))
      .body as SessionResource;
    expect(resource.usage.costUsd).toBeCloseTo(2 * usage.costUsd, 12);
    const metrics = (await request(server.url).get('/v1/metrics').expect(200)).body;
    expect(metrics.providers.opencode.usage.costUsd).toBeGreaterThanOrEqual(resource.usage.costUsd);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('picks the provider and the model from a model alias alone', async () => {
    const { session, events } = await start({ model: 'kimi-k2', query: 'which model?' });
    expect(session).toMatchObject({ provider: 'opencode', model: 'kimi-k2-0905-preview' });
    await events.waitForResults(1, 60_000);
    expect(requestsTo(models, 'which model?').map((r) => r.model)).toEqual([
      'kimi-k2-0905-preview',
    ]);
    const usage = events.ofType('usage')[0];
    expect(usage.costUsd).toBeCloseTo((PROMPT_TOKENS * 0.6 + COMPLETION_TOKENS * 2.5) / 1e6, 12);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('runs a bash tool call in the session directory', async () => {
    const { session, events } = await start({
      provider: 'opencode',
      query: '[[bash echo from-opencode > oc.txt]]',
    });
    await events.waitForResults(1, 60_000);
    const toolUse = events.ofType('tool_use')[0];
    expect(toolUse).toMatchObject({
      name: 'bash',
      input: { command: 'echo from-opencode > oc.txt' },
    });
    expect(events.ofType('tool_result')[0]).toMatchObject({
      toolUseId: toolUse.id,
      isError: false,
    });
    expect(readFileSync(join(session.cwd, 'oc.txt'), 'utf8').trim()).toBe('from-opencode');
    // Two model calls (the tool call, then the text after it), each counted as it ended.
    expect(events.ofType('usage').map((u) => u.inputTokens)).toEqual([
      PROMPT_TOKENS,
      PROMPT_TOKENS,
    ]);
    expect(events.ofType('result')[0].usage.inputTokens).toBe(2 * PROMPT_TOKENS);
    expect(events.ofType('result')[0].text).toBe('Tool finished.');
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('interrupt aborts the turn; suspend and resume keep the history', async () => {
    const { session, events } = await start({ provider: 'opencode', query: '[[slow 40]]' });
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 2, 60_000);
    await wsRequest(socket, 'session:interrupt', { sessionId: session.id });
    await events.waitForResults(1);
    expect(events.ofType('result')[0].interrupted).toBe(true);
    expect(events.ofType('error')).toHaveLength(0);

    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));
    expect(await wsRequest(socket, 'session:suspend', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    expect(await wsRequest(socket, 'session:resume', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'still there?' });
    await events.waitForResults(2);
    expect(JSON.stringify(requestsTo(models, 'still there?')[0].messages)).toContain('[[slow 40]]');
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('a session`s own sandboxed server: its death fails that session alone, and leaves nothing', async () => {
    const { session, events } = await start({ provider: 'opencode', query: '[[slow 60]]' });
    const other = await start({ provider: 'opencode', query: '[[slow 6]] other' });
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'), 60_000);
    const pidFile = join(server.dir, 'data', 'agents', 'opencode', 'servers', `${session.id}.pid`);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // bwrap's process (the sandbox), which runs the session's `opencode serve` in the session's folder.
    expect(processesMentioning('opencode.exe serve')).toContain(pid);
    expect(processesIn(session.cwd).length).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/^bwrap\0/);
    process.kill(pid, 'SIGKILL');
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'failed'), 5000);
    expect(events.ofType('error')[0]).toMatchObject({ code: 'AGENT_EXITED' });
    expect(events.ofType('error')[0].message).toContain('opencode server exited');
    expect(await eventually(() => processesIn(session.cwd).length === 0)).toBe(true);
    expect(existsSync(pidFile)).toBe(false);

    // The other session's server is its own: it goes on, and the provider stays healthy.
    await other.events.waitForResults(1, 60_000);
    expect(other.events.ofType('error')).toHaveLength(0);
    const health = (await request(server.url).get('/v1/providers/health')).body.opencode;
    expect(health.healthy).toBe(true);
    await wsRequest(socket, 'session:terminate', { sessionId: other.session.id });
    expect(await eventually(() => processesIn(other.session.cwd).length === 0)).toBe(true);
  });
});

describe('OpenCode after a restart', () => {
  const models = new FakeOpenAIServer();
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-opencode-restart-'));
  let env: Record<string, string>;

  beforeAll(async () => {
    env = { JELMORE_OPENCODE_BASE_URL: await models.start() };
  });

  afterAll(async () => {
    await models.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a session suspended at shutdown resumes on a new server and keeps its history', async () => {
    const first = await startTestServer({ env, dir });
    const created = await request(first.url)
      .post('/v1/sessions')
      .send({ provider: 'opencode', query: 'remember the word heron' })
      .expect(201);
    const session = created.body as SessionResource;
    expect(
      await waitUntil(async () => (await stateOf(first.url, session.id)) === 'idle', 60_000),
    ).toBe(true);
    await first.close();
    // Its server ended with the first process, which suspended the session.
    expect(processesIn(session.cwd)).toEqual([]);

    const second = await startTestServer({ env, dir });
    try {
      expect(await stateOf(second.url, session.id)).toBe('suspended');
      await request(second.url).post(`/v1/sessions/${session.id}/resume`).expect(200);
      await request(second.url)
        .post(`/v1/sessions/${session.id}/input`)
        .send({ text: 'which word?' })
        .expect(202);
      expect(
        await waitUntil(async () => requestsTo(models, 'which word?').length > 0, 60_000),
      ).toBe(true);
      // The same opencode session, read from the tenant's home: the first turn is in its history.
      const [turn] = requestsTo(models, 'which word?');
      expect(JSON.stringify(turn.messages)).toContain('remember the word heron');
      await request(second.url).delete(`/v1/sessions/${session.id}`);
    } finally {
      await second.close();
    }
  });
});
