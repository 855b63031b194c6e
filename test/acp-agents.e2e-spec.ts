import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Socket } from 'socket.io-client';
import Database from 'better-sqlite3';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { agentsMentioning, eventually, waitUntil } from './support/processes';
import { connect, EventCollector, request as wsRequest, startSession } from './support/ws-client';

/** An ACP agent written with the protocol's SDK (test/fixtures/acp-agent.mjs): no model behind it. */
const FIXTURE = resolve(__dirname, 'fixtures', 'acp-agent.mjs');
/**
 * An argument the fixture ignores, on this file's agents only: the process checks find them and not
 * those of another file running the same fixture at the same time (multimodal-acp).
 */
const RUN_ARG = `--e2e-run=${randomUUID()}`;
const AGENT = `${FIXTURE} ${RUN_ARG}`;

/** Every agent of this file comes from the config file only: no code names them. */
function configFile(dir: string): string {
  const agent = (mode?: string, extra: object = {}) => ({
    type: 'acp',
    command: FIXTURE,
    args: [RUN_ARG],
    env: mode ? { ACP_FIXTURE_MODE: mode } : {},
    auto_select: false,
    ...extra,
  });
  const file = join(dir, 'jelmore.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: {
        fixture: agent(undefined, {
          // The agent sees no folder of the server's but its home: the log goes there.
          env: { ACP_FIXTURE_LOG: '${ACP_TEST_LOG}' },
          models: [
            {
              id: 'fixture-large',
              aliases: ['fx'],
              context_window: 200000,
              input_price_per_mtok: 3,
              output_price_per_mtok: 15,
            },
          ],
          max_concurrent_sessions: 8,
        }),
        'exits-at-start': agent('exit-at-start'),
        'exits-mid-turn': agent('exit-mid-turn'),
        'writes-garbage': agent('non-json'),
        'never-initializes': agent('no-initialize', { start_timeout_seconds: 1 }),
        'calls-unknown': agent('unknown-method'),
        'asks-for-ghosts': agent('unknown-tool-permission'),
      },
    }),
  );
  return file;
}

describe('ACP agents from the config file (the SDK-built fixture agent)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-acp-'));
  const log = join(dir, 'data', 'agents', 'fixture', 'tenants', 'local', 'received.jsonl');
  const created: string[] = [];
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    server = await startTestServer({
      dir,
      // `${ACP_TEST_LOG}` in the file reads the server's environment.
      env: { JELMORE_CONFIG: configFile(dir), ACP_TEST_LOG: log },
    });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(payload: object) {
    const started = await startSession(socket, payload);
    created.push(started.session.id);
    return started;
  }

  afterEach(async () => {
    // Each test starts with no agent running.
    for (const id of created.splice(0)) await request(server.url).delete(`/v1/sessions/${id}`);
    expect(await eventually(() => agentsMentioning(AGENT).length === 0)).toBe(true);
  });

  const received = (): Array<{ method?: string; params?: Record<string, unknown> }> =>
    readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { method?: string; params?: Record<string, unknown> });

  const stateOf = async (id: string) =>
    ((await request(server.url).get(`/v1/sessions/${id}`)).body as SessionResource).state;

  it('registers each entry as a provider named by its key, with its models', async () => {
    const { body } = await request(server.url).get('/v1/providers').expect(200);
    const providers = body.providers as Array<{ name: string; models: Array<{ id: string }> }>;
    expect(providers.map((p) => p.name)).toEqual(
      expect.arrayContaining(['fixture', 'exits-at-start', 'never-initializes']),
    );
    const fixture = providers.find((p) => p.name === 'fixture')!;
    expect(fixture).toMatchObject({
      health: { healthy: true },
      models: [expect.objectContaining({ id: 'fixture-large', aliases: ['fx'] })],
    });
  });

  it('streams a reply in pieces from a session opened in the session directory', async () => {
    const { session, events } = await start({ provider: 'fixture', query: 'hello there' });
    await events.waitForResults(1);
    const pieces = events.ofType('assistant');
    expect(pieces.length).toBeGreaterThanOrEqual(3);
    const result = events.ofType('result')[0];
    expect(result.text).toBe(pieces.map((p) => p.text).join(''));
    expect(result.text).toContain('turn 1; previous: none');
    // Priced by the agent's own usage_update cost (the fixture's), not left at zero.
    expect(result.usage.costUsd).toBeGreaterThan(0);
    expect(session.model).toBe('fixture-large');
    const opened = received().find((m) => m.method === 'session/new');
    expect(opened?.params?.cwd).toBe(session.cwd);
  });

  it('asks before a tool writes: allow puts the file on disk, deny does not', async () => {
    const { session, events } = await start({
      provider: 'fixture',
      query: 'write allowed.txt yes',
      permissions: 'ask',
    });
    await events.waitFor((all) => all.some((e) => e.type === 'permission_request'));
    const asked = events.ofType('permission_request')[0];
    expect(asked).toMatchObject({ tool: 'Write allowed.txt', input: { content: 'yes' } });
    expect(events.ofType('tool_use')[0]).toMatchObject({ id: asked.toolUseId });
    await wsRequest(socket, 'permission:reply', {
      sessionId: session.id,
      requestId: asked.requestId,
      allow: true,
    });
    await events.waitForResults(1);
    expect(readFileSync(join(session.cwd, 'allowed.txt'), 'utf8')).toBe('yes');
    expect(events.ofType('tool_result')[0]).toMatchObject({
      isError: false,
      output: 'wrote allowed.txt',
    });

    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'write denied.txt no',
    });
    await events.waitFor((all) => all.filter((e) => e.type === 'permission_request').length === 2);
    const second = events.ofType('permission_request')[1];
    await wsRequest(socket, 'permission:reply', {
      sessionId: session.id,
      requestId: second.requestId,
      allow: false,
    });
    await events.waitForResults(2);
    expect(existsSync(join(session.cwd, 'denied.txt'))).toBe(false);
    expect(events.ofType('tool_result')[1]).toMatchObject({ isError: true });
    expect(events.ofType('permission_resolved').map((e) => [e.allow, e.by])).toEqual([
      [true, 'client'],
      [false, 'client'],
    ]);
  });

  it('deny-writes refuses an edit at once, without asking anyone', async () => {
    const { session, events } = await start({
      provider: 'fixture',
      query: 'write never.txt x',
      permissions: 'deny-writes',
    });
    await events.waitForResults(1);
    expect(events.ofType('permission_request')).toEqual([]);
    expect(events.ofType('tool_result')[0]).toMatchObject({ isError: true });
    expect(existsSync(join(session.cwd, 'never.txt'))).toBe(false);
  });

  it('interrupt cancels the turn and keeps the context for the next one', async () => {
    const { session, events } = await start({ provider: 'fixture', query: 'be slow please' });
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 4);
    await wsRequest(socket, 'session:interrupt', { sessionId: session.id });
    await events.waitForResults(1);
    expect(events.ofType('result')[0].interrupted).toBe(true);
    expect(received().some((m) => m.method === 'session/cancel')).toBe(true);
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'and now?' });
    await events.waitForResults(2);
    expect(events.ofType('result')[1].text).toContain('turn 2; previous: be slow please');
  });

  it('saves the agent`s session id at the first event, so a crash in turn 1 can resume', async () => {
    const { session, events } = await start({ provider: 'fixture', query: 'be slow at first' });
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'));
    const db = new Database(join(dir, 'data', 'jelmore.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT provider_ref FROM sessions WHERE id = ?').get(session.id) as {
        provider_ref: string | null;
      };
      const created = received().filter((m) => m.method === 'session/prompt');
      expect(row.provider_ref).toBe(created[created.length - 1].params?.sessionId);
    } finally {
      db.close();
    }
  });

  it('terminate leaves no agent process', async () => {
    const { session, events } = await start({ provider: 'fixture', query: 'be slow again' });
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'));
    expect(agentsMentioning(AGENT).length).toBeGreaterThan(0);
    await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
    expect(await eventually(() => agentsMentioning(AGENT).length === 0)).toBe(true);
  });

  describe('agents that misbehave fail their session with a code; the server goes on', () => {
    async function failedSession(provider: string, query = 'hello') {
      const { session, events } = await start({ provider, query });
      await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'failed'));
      return { session, events, error: events.ofType('error')[0] };
    }

    async function health(provider: string) {
      const { body } = await request(server.url).get('/v1/providers').expect(200);
      const all = body.providers as Array<{ name: string; health: { healthy: boolean } }>;
      return all.find((p) => p.name === provider)?.health;
    }

    afterEach(async () => {
      // Nothing of a failed agent is left, before anybody ends its session.
      expect(await eventually(() => agentsMentioning(AGENT).length === 0)).toBe(true);
    });

    it('an agent that will not start', async () => {
      const { error } = await failedSession('exits-at-start');
      expect(error).toMatchObject({ code: 'AGENT_EXITED' });
      expect(error.message).toContain('fixture: refusing to start');
      // Health is public: it says what failed, never what the agent printed.
      const unhealthy = await health('exits-at-start');
      expect(unhealthy).toMatchObject({
        healthy: false,
        reason: 'exits-at-start agent exited with code 3',
      });
      expect(await health('fixture')).toMatchObject({ healthy: true });
    });

    it('an agent that exits mid-turn keeps what it had said', async () => {
      const { session, events, error } = await failedSession('exits-mid-turn');
      expect(error).toMatchObject({ code: 'AGENT_EXITED' });
      const logged = (await request(server.url).get(`/v1/sessions/${session.id}/events`)).body
        .events as SessionEvent[];
      expect(logged.filter((e) => e.type === 'assistant')).toEqual(events.ofType('assistant'));
      expect(events.ofType('assistant').length).toBeGreaterThan(0);
    });

    it('an agent that writes a line that is not JSON', async () => {
      const { error } = await failedSession('writes-garbage');
      expect(error).toMatchObject({ code: 'AGENT_ERROR' });
      expect(error.message).toContain('this is not json');
    });

    it('an agent that never answers initialize', async () => {
      const { error } = await failedSession('never-initializes');
      expect(error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      expect(error.message).toContain('no answer to initialize within 1 s');
      expect(await health('never-initializes')).toMatchObject({ healthy: false });
    });

    it('an unknown method gets a JSON-RPC error and the turn goes on', async () => {
      const { session, events } = await start({ provider: 'calls-unknown', query: 'hi' });
      await events.waitForResults(1);
      expect(events.ofType('result')[0].text).toContain('x/unknown_method failed (-32601)');
      expect(await stateOf(session.id)).toBe('idle');
      await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
    });

    it("a permission request for a tool never announced is still the policy's to decide", async () => {
      const { session, events } = await start({
        provider: 'asks-for-ghosts',
        query: 'hi',
        permissions: 'ask',
      });
      await events.waitFor((all) => all.some((e) => e.type === 'permission_request'));
      const asked = events.ofType('permission_request')[0];
      expect(asked.tool).toBe('Ghost tool');
      await wsRequest(socket, 'permission:reply', {
        sessionId: session.id,
        requestId: asked.requestId,
        allow: false,
      });
      await events.waitForResults(1);
      expect(events.ofType('result')[0].text).toContain('ghost refused');
      await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
    });
  });

  it('a restarted server resumes the conversation with session/load', async () => {
    const { session, events } = await start({ provider: 'fixture', query: 'remember kiwi' });
    await events.waitForResults(1);
    expect(await waitUntil(async () => (await stateOf(session.id)) === 'idle')).toBe(true);
    socket.disconnect();
    await server.close();
    expect(agentsMentioning(AGENT)).toEqual([]);

    server = await startTestServer({
      dir,
      env: { JELMORE_CONFIG: join(dir, 'jelmore.json'), ACP_TEST_LOG: log },
    });
    socket = await connect(server.url);
    await request(server.url).post(`/v1/sessions/${session.id}/resume`).expect(200);
    const after = new EventCollector(socket, session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: session.id, after: 0 });
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({ text: 'which fruit?' })
      .expect(202);
    await after.waitFor((all) => all.filter((e) => e.type === 'result').length === 2);
    const results = after.ofType('result');
    expect(results[1].text).toContain('turn 2; previous: remember kiwi');
    expect(received().some((m) => m.method === 'session/load')).toBe(true);
  });
});
