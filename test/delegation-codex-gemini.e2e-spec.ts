import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import type { Socket } from 'socket.io-client';
import type { SessionResource } from '@jelmore/contracts';
import { FakeGeminiServer } from './fixtures/fake-gemini';
import { FakeOpenAIResponsesServer } from './fixtures/fake-openai-responses';
import { startTestServer, TestServer } from './support/app';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

const ALICE = 'alice-key-0123456789';

/**
 * How each agent names Jelmore's `start_session` for its model, and how Jelmore's events name it:
 * Codex offers MCP tools deferred, under tool_search, as function `start_session` in namespace
 * `mcp__jelmore` (the fake splits the name at its last `__`); the Gemini CLI as `mcp_jelmore_start_session`.
 */
const AGENTS = [
  {
    provider: 'codex',
    modelName: 'mcp__jelmore__start_session',
    event: 'jelmore.start_session',
    // Without the server, Codex's tool search finds nothing: the fake model says so.
    unknown: 'No tool mcp__jelmore__start_session.',
  },
  {
    provider: 'gemini',
    modelName: 'mcp_jelmore_start_session',
    event: 'mcp_jelmore_start_session',
    unknown: 'Tool "mcp_jelmore_start_session" not found',
  },
] as const;

/** Every file under `dir`, recursively. */
function filesIn(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** A file's text; empty for one gone meanwhile (SQLite's -shm and -wal files come and go). */
function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Delegation from the Codex and Gemini CLIs (the real ones, against fake model APIs): the agent of a
 * session created with `delegation: true` calls Jelmore's MCP server (sandboxed, on the loopback) with
 * the session's token, starts a child session and gets its answer in the same turn.
 */
describe('Delegation from Codex and Gemini sessions', () => {
  let server: TestServer;
  let socket: Socket;

  const openai = new FakeOpenAIResponsesServer();
  const gemini = new FakeGeminiServer();

  beforeAll(async () => {
    // These providers read their own settings from the environment, as in production.
    process.env.JELMORE_CODEX_BASE_URL = await openai.start();
    process.env.JELMORE_CODEX_API_KEY = 'test-key-not-secret';
    process.env.JELMORE_GEMINI_BASE_URL = await gemini.start();
    process.env.JELMORE_GEMINI_API_KEY = 'test-key-not-secret';
    server = await startTestServer({
      env: { JELMORE_API_KEYS: `alice:${ALICE}`, JELMORE_SCRIPTED_ENABLED: 'true' },
    });
    socket = await connect(server.url, ALICE);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await Promise.all([openai.stop(), gemini.stop()]);
    for (const name of ['CODEX_BASE_URL', 'CODEX_API_KEY', 'GEMINI_BASE_URL', 'GEMINI_API_KEY']) {
      delete process.env[`JELMORE_${name}`];
    }
  });

  const as = {
    get: (path: string) => request(server.url).get(path).set('authorization', `Bearer ${ALICE}`),
    post: (path: string) => request(server.url).post(path).set('authorization', `Bearer ${ALICE}`),
    delete: (path: string) =>
      request(server.url).delete(path).set('authorization', `Bearer ${ALICE}`),
  };

  async function start(
    body: object,
  ): Promise<{ session: SessionResource; events: EventCollector }> {
    const res = await as.post('/v1/sessions').send(body);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    const session = res.body as SessionResource;
    const events = new EventCollector(socket, session.id);
    expect(await wsRequest(socket, 'session:subscribe', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    return { session, events };
  }

  const agentHome = (provider: string) => join(server.dir, 'data', 'agents', provider);

  describe.each(AGENTS)('$provider', ({ provider, modelName, event, unknown }) => {
    const callStart = (input: object) => `[[mcp ${modelName} ${JSON.stringify(input)}]]`;

    it('starts a child session through the MCP server and gets its answer in the same turn', async () => {
      const { session: parent, events } = await start({
        provider,
        query: callStart({ provider: 'scripted', query: 'summarise the child task', wait: true }),
        delegation: true,
      });
      expect(parent.delegation).toBe(true);
      await events.waitForResults(1, 90_000);

      const [call] = events.ofType('tool_use');
      expect(call).toMatchObject({ name: event, input: { provider: 'scripted', wait: true } });
      const [announced] = events.ofType('child_session');
      expect(announced).toMatchObject({ provider: 'scripted' });
      const childId = announced.childSessionId;
      const child = (await as.get(`/v1/sessions/${childId}`).expect(200)).body as SessionResource;
      expect(child).toMatchObject({ parentId: parent.id, provider: 'scripted' });
      const childEvents = (await as.get(`/v1/sessions/${childId}/events`).expect(200)).body
        .events as Array<{ type: string; text?: string }>;
      const childAnswer = childEvents.find((e) => e.type === 'result')?.text;
      expect(childAnswer).toBeTruthy();
      const [output] = events.ofType('tool_result');
      expect(output).toMatchObject({ toolUseId: call.id, isError: false });
      expect(output.output).toContain(childId);
      expect(output.output).toContain(childAnswer!);

      // The token reached the agent as a variable: the commands its model runs do not see it.
      await as.post(`/v1/sessions/${parent.id}/input`).send({ text: '[[bash env]]' }).expect(202);
      await events.waitForResults(2, 60_000);
      const env = events.ofType('tool_result')[1];
      expect(env.output).toContain('PATH=');
      expect(env.output).not.toContain('JELMORE_MCP');
      expect(env.output).not.toContain('jdt.');

      await as.delete(`/v1/sessions/${parent.id}`).expect(200);
      const ended = (await as.get(`/v1/sessions/${childId}`).expect(200)).body as SessionResource;
      expect(ended.state).toBe('terminated');
      // Nor is it in any file the agent left in its home.
      const withToken = filesIn(agentHome(provider)).filter((file) =>
        readIfThere(file).includes('Bearer jdt.'),
      );
      expect(withToken).toEqual([]);
      // The Gemini session's extension (its servers for the CLI) went with it.
      const extensions = filesIn(agentHome(provider)).filter((f) => f.includes('/extensions/'));
      expect(extensions).toEqual([]);
    }, 180_000);

    it('gives a session without delegation no MCP server', async () => {
      const { session, events } = await start({
        provider,
        query: callStart({ provider: 'scripted', query: 'not allowed', wait: true }),
      });
      await events.waitForResults(1, 60_000);
      expect(events.ofType('child_session')).toEqual([]);
      expect(events.ofType('tool_result').filter((r) => !r.isError)).toEqual([]);
      expect(JSON.stringify(events.events)).toContain(JSON.stringify(unknown).slice(1, -1));
      await as.delete(`/v1/sessions/${session.id}`).expect(200);
    }, 120_000);
  });
});
