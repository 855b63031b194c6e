import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { Checkpoint, SessionEvent, SessionResource } from '@jelmore/contracts';
import {
  CACHED_TOKENS,
  FakeOpenAIResponsesServer,
  INPUT_TOKENS,
  latestUserText,
  OUTPUT_TOKENS,
  ResponsesRequest,
  userTexts,
} from './fixtures/fake-openai-responses';
import { startTestServer, TestServer } from './support/app';
import { branches, makeRepository, worktreeFolders } from './support/git';
import { eventually, processesIn, processesMentioning } from './support/processes';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

/** gpt-5.5's prices in the provider's table: $5 input, $0.50 cached input, $30 output per 1M. */
function gpt55Cost(calls: number): number {
  return (
    (calls * (INPUT_TOKENS - CACHED_TOKENS) * 5 +
      calls * CACHED_TOKENS * 0.5 +
      calls * OUTPUT_TOKENS * 30) /
    1e6
  );
}

describe('Codex sessions (real codex exec, fake OpenAI Responses API)', () => {
  const models = new FakeOpenAIResponsesServer({ slowDelayMs: 150 });
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    const baseUrl = await models.start();
    // The provider reads its own settings (JELMORE_CODEX_*), not the server's config.
    process.env.JELMORE_CODEX_BASE_URL = baseUrl;
    process.env.JELMORE_CODEX_API_KEY = 'test-key-not-secret';
    server = await startTestServer();
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
    delete process.env.JELMORE_CODEX_BASE_URL;
    delete process.env.JELMORE_CODEX_API_KEY;
  });

  async function start(query: string, more: object = {}) {
    const ack = await wsRequest<{ session: SessionResource }>(socket, 'session:create', {
      provider: 'codex',
      query,
      ...more,
    });
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    const events = new EventCollector(socket, ack.session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: ack.session.id });
    return { session: ack.session, events };
  }

  const requestFor = (text: string): ResponsesRequest[] =>
    models.requests.filter((r) => latestUserText(r.input).includes(text));
  const threadOf = (text: string): unknown[] =>
    models.requests.flatMap((r, i) =>
      latestUserText(r.input).includes(text) ? [models.raw[i].headers['thread-id']] : [],
    );

  it('is listed and healthy once its base URL is set', async () => {
    const providers = (await request(server.url).get('/v1/providers').expect(200)).body as {
      providers: Array<{ name: string; models: Array<{ id: string }> }>;
    };
    const codex = providers.providers.find((p) => p.name === 'codex');
    expect(codex?.models.map((m) => m.id)).toContain('gpt-5.5');
    const health = (await request(server.url).get('/v1/providers/health').expect(200)).body;
    expect(health.codex).toMatchObject({ healthy: true, version: 'codex-cli 0.171.0' });
  });

  it('runs a tool in the session directory, resumes the thread for turn 2, and prices each turn', async () => {
    const { session, events } = await start('[[bash echo from-codex > codex.txt]]');
    expect(session).toMatchObject({ provider: 'codex', model: 'gpt-5.5' });
    await events.waitForResults(1, 60_000);

    // The real CLI ran the model's command in the session's own directory.
    expect(readFileSync(join(session.cwd, 'codex.txt'), 'utf8').trim()).toBe('from-codex');
    const toolUse = events.ofType('tool_use')[0];
    expect(toolUse.name).toBe('shell');
    expect((toolUse.input as { command: string }).command).toContain('echo from-codex > codex.txt');
    expect(events.ofType('tool_result')[0]).toMatchObject({
      toolUseId: toolUse.id,
      isError: false,
    });
    // The turn's input first, then the reply in pieces as the agent works: the preamble, the tool,
    // then the final message.
    expect(events.events.map((e) => e.type).filter((t) => t !== 'status')).toEqual([
      'user',
      'assistant',
      'tool_use',
      'tool_result',
      'assistant',
      'usage',
      'result',
    ]);
    expect(events.ofType('assistant').map((e) => e.text)).toEqual([
      'Running it.',
      'Tool finished.',
    ]);

    // Two model calls (the tool call, then the text after it), priced from the fake's usage.
    const first = events.ofType('result')[0];
    expect(first.text).toBe('Tool finished.');
    expect(first.usage).toMatchObject({
      inputTokens: 2 * INPUT_TOKENS,
      outputTokens: 2 * OUTPUT_TOKENS,
    });
    expect(first.usage.costUsd).toBeCloseTo(gpt55Cost(2), 12);
    expect(models.requests[0].model).toBe('gpt-5.5');
    expect(models.raw[0].headers.authorization).toBe('Bearer test-key-not-secret');

    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'what did you write?',
    });
    await events.waitForResults(2, 60_000);
    const second = events.ofType('result')[1];
    expect(second.text).toBe('Echo: what did you write?');
    // Codex reports the thread's totals; the session counts this turn's one call only.
    expect(second.usage).toMatchObject({ inputTokens: INPUT_TOKENS, outputTokens: OUTPUT_TOKENS });
    expect(second.usage.costUsd).toBeCloseTo(gpt55Cost(1), 12);

    // Turn 2 was a new process resuming the same thread: its request carries turn 1.
    const [turn2] = requestFor('what did you write?');
    expect(userTexts(turn2.input)).toEqual([
      '[[bash echo from-codex > codex.txt]]',
      'what did you write?',
    ]);
    const history = JSON.stringify(turn2.input);
    expect(history).toContain('echo from-codex > codex.txt');
    expect(history).toContain('function_call_output');
    expect(history).toContain('Tool finished.');
    const threads = [...threadOf('from-codex'), ...threadOf('what did you write?')];
    expect(new Set(threads).size).toBe(1);

    const resource = (await request(server.url).get(`/v1/sessions/${session.id}`).expect(200))
      .body as SessionResource;
    expect(resource.usage.costUsd).toBeCloseTo(gpt55Cost(3), 12);
    expect(resource.state).toBe('idle');
    expect(events.ofType('status').map((s) => s.to)).toEqual([
      'starting',
      'running',
      'idle',
      'running',
      'idle',
    ]);
    expect(events.events.map((e) => e.seq)).toEqual(events.events.map((_, i) => i + 1));
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('interrupts a turn; after suspend and resume the thread goes on with its history', async () => {
    const { session, events } = await start('[[slow 40]] take your time');
    expect(await eventually(() => requestFor('take your time').length === 1, 30_000)).toBe(true);
    const asked = Date.now();
    await wsRequest(socket, 'session:interrupt', { sessionId: session.id });
    await events.waitForResults(1);
    expect(Date.now() - asked).toBeLessThan(3000);
    expect(events.ofType('result')[0]).toMatchObject({ interrupted: true });
    expect(events.ofType('error')).toHaveLength(0);
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));
    expect(processesIn(session.cwd)).toEqual([]);

    expect(await wsRequest(socket, 'session:suspend', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    expect(await wsRequest(socket, 'session:resume', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'still there?' });
    await events.waitForResults(2, 60_000);
    expect(events.ofType('result')[1].text).toBe('Echo: still there?');
    const [after] = requestFor('still there?');
    expect(userTexts(after.input)).toEqual(['[[slow 40]] take your time', 'still there?']);
    // Codex records the abort in the thread, so the model knows the last turn was cut short.
    expect(JSON.stringify(after.input)).toContain('turn_aborted');
    expect(new Set([...threadOf('take your time'), ...threadOf('still there?')]).size).toBe(1);
    // Only the new call is counted: the interrupted one never completed.
    expect(events.ofType('result')[1].usage.inputTokens).toBe(INPUT_TOKENS);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('reports a failed model call as an error and stays usable', async () => {
    const { session, events } = await start('[[fail]] please');
    await events.waitForResults(1, 60_000);
    expect(events.ofType('error')[0]).toMatchObject({
      code: 'AGENT_ERROR',
      message: 'fake upstream failure',
    });
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));

    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'and now?' });
    await events.waitForResults(2, 60_000);
    expect(events.ofType('result')[1].text).toBe('Echo: and now?');
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('terminate during a tool call leaves no process behind', async () => {
    const { session, events } = await start('[[bash sleep 31.4159]]');
    await events.waitFor((all) => all.some((e) => e.type === 'tool_use'), 60_000);
    expect(processesMentioning('sleep 31.4159').length).toBeGreaterThan(0);
    expect(processesIn(session.cwd).length).toBeGreaterThan(0);

    const ended = await wsRequest<{ session: SessionResource }>(socket, 'session:terminate', {
      sessionId: session.id,
    });
    expect(ended).toMatchObject({ ok: true, session: { state: 'terminated' } });
    expect(await eventually(() => processesMentioning('sleep 31.4159').length === 0)).toBe(true);
    expect(await eventually(() => processesIn(session.cwd).length === 0)).toBe(true);
    expect(existsSync(session.cwd)).toBe(true);
  });

  it('cannot fork (409 FORK_UNSUPPORTED, nothing made); rewind restores the files and keeps the conversation', async () => {
    const repo = join(server.dir, 'workspace', 'repo');
    makeRepository(repo, { 'README.md': '# demo\n' });
    const { session, events } = await start('[[bash echo one > first.txt]] turn-one', {
      cwd: 'repo',
      isolation: 'worktree',
    });
    const checkpointed = (turn: number) => (all: SessionEvent[]) =>
      all.some((e) => e.type === 'checkpoint' && e.turn === turn);
    await events.waitFor(checkpointed(1), 60_000);
    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: '[[bash echo two > second.txt]] turn-two',
    });
    await events.waitFor(checkpointed(2), 60_000);
    await events.waitFor(() => events.ofType('status').at(-1)?.to === 'idle');
    expect(readFileSync(join(session.cwd, 'second.txt'), 'utf8')).toBe('two\n');

    const ids = async () =>
      ((await request(server.url).get('/v1/sessions').expect(200)).body as SessionResource[])
        .map((s) => s.id)
        .sort();
    const before = { ids: await ids(), worktrees: worktreeFolders(repo), branches: branches(repo) };
    expect(before.worktrees).toEqual([repo, session.cwd]);
    const fork = await request(server.url)
      .post(`/v1/sessions/${session.id}/fork`)
      .send({ turn: 1 });
    expect([fork.status, fork.body.error?.code]).toEqual([409, 'FORK_UNSUPPORTED']);
    expect({
      ids: await ids(),
      worktrees: worktreeFolders(repo),
      branches: branches(repo),
    }).toEqual(before);

    // Codex cannot cut its thread: the files go back to turn 1, the conversation keeps turn 2.
    const rewound = await request(server.url)
      .post(`/v1/sessions/${session.id}/rewind`)
      .send({ turn: 1 });
    expect(rewound.status).toBe(200);
    expect(rewound.body).toMatchObject({
      turn: 1,
      filesChanged: 1,
      conversation: 'kept',
      session: { id: session.id, state: 'idle' },
    });
    expect(existsSync(join(session.cwd, 'second.txt'))).toBe(false);
    expect(readFileSync(join(session.cwd, 'first.txt'), 'utf8')).toBe('one\n');
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'turn-three' });
    // The turns keep the conversation's numbers: the next one is turn 3, turn 2's checkpoint is gone.
    await events.waitFor(checkpointed(3), 60_000);
    expect(userTexts(requestFor('turn-three')[0].input)).toEqual([
      '[[bash echo one > first.txt]] turn-one',
      '[[bash echo two > second.txt]] turn-two',
      'turn-three',
    ]);
    const checkpoints = (
      await request(server.url).get(`/v1/sessions/${session.id}/checkpoints`).expect(200)
    ).body as Checkpoint[];
    expect(checkpoints.map((c) => c.turn)).toEqual([0, 1, 3]);

    await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
    expect(worktreeFolders(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(['main']);
  });
});
