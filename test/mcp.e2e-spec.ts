import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError, type CallToolResult, type Progress } from '@modelcontextprotocol/sdk/types.js';
import request from 'supertest';
import type { SessionEvent, SessionResource, Usage } from '@jelmore/contracts';
import { EventLog } from '@jelmore/sessions';
import { startTestServer, TestServer } from './support/app';
import { eventually } from './support/processes';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';

const TOOLS = [
  'list_providers',
  'start_session',
  'send_input',
  'get_session',
  'get_events',
  'wait_for_result',
  'interrupt_session',
  'terminate_session',
  'list_sessions',
];

interface TurnOutcome {
  session: SessionResource;
  result?: { seq: number; text: string; durationMs: number; usage: Usage; interrupted?: boolean };
}

describe('the MCP server at /mcp (Streamable HTTP, the SDK client)', () => {
  let server: TestServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      env: { JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB}`, JELMORE_SCRIPTED_ENABLED: 'true' },
    });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.close();
  });

  async function connect(key?: string): Promise<Client> {
    const client = new Client({ name: 'jelmore-e2e', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: key ? { headers: { authorization: `Bearer ${key}` } } : {},
    });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  /** Calls a tool; its structured result, checked against the text that carries the same JSON. */
  async function call<T>(
    client: Client,
    name: string,
    args: Record<string, unknown>,
    onprogress?: (progress: Progress) => void,
  ): Promise<T> {
    const result = (await client.callTool({ name, arguments: args }, undefined, {
      onprogress,
      timeout: 60_000,
    })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(
      result.structuredContent,
    );
    return result.structuredContent as T;
  }

  /** The JSON-RPC error of a failed call. */
  async function failure(client: Client, name: string, args: unknown): Promise<McpError> {
    const err: unknown = await client
      .callTool({ name, arguments: args as Record<string, unknown> })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(McpError);
    return err as McpError;
  }

  let alice: Client;
  let bob: Client;

  beforeAll(async () => {
    alice = await connect(ALICE);
    bob = await connect(BOB);
  });

  it('lists the tools, each with an input and an output schema', async () => {
    const { tools } = await alice.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS);
    for (const tool of tools) {
      expect(tool.description).toBeTruthy();
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
    }
    const start = tools.find((t) => t.name === 'start_session')!;
    expect(start.inputSchema.required).toEqual(['query']);
    const providers = await call<{ providers: Array<{ name: string }> }>(
      alice,
      'list_providers',
      {},
    );
    expect(providers.providers.map((p) => p.name)).toEqual(
      expect.arrayContaining(['claude', 'scripted']),
    );
  });

  it("runs a scripted session's turns with wait, then reads its events", async () => {
    const first = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'scripted',
      query: 'hello from mcp',
      wait: true,
    });
    expect(first.session).toMatchObject({ provider: 'scripted' });
    expect(first.result).toMatchObject({ text: 'Echo: hello from mcp' });

    const second = await call<TurnOutcome>(alice, 'send_input', {
      sessionId: first.session.id,
      input: 'and again',
      wait: true,
    });
    expect(second.result!.text).toBe('Echo: and again');
    expect(second.result!.seq).toBeGreaterThan(first.result!.seq);
    expect(second.session.lastSeq).toBeGreaterThanOrEqual(second.result!.seq);

    const all = await call<{ events: SessionEvent[]; more: boolean }>(alice, 'get_events', {
      sessionId: first.session.id,
    });
    expect(all.more).toBe(false);
    expect(all.events.filter((e) => e.type === 'result')).toHaveLength(2);
    expect(all.events.filter((e) => e.type === 'user')).toHaveLength(2);
    const page = await call<{ events: SessionEvent[]; more: boolean }>(alice, 'get_events', {
      sessionId: first.session.id,
      after: 2,
      limit: 3,
    });
    expect(page.events.map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(page.more).toBe(true);
  });

  it('runs a Claude Code session (the real CLI, the fake model API) with wait', async () => {
    const outcome = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'claude',
      query: 'say hi',
      wait: true,
    });
    expect(outcome.session).toMatchObject({ provider: 'claude' });
    expect(outcome.result!.text).toBe('Echo: say hi');
    expect(outcome.result!.usage.costUsd).toBeGreaterThan(0);
    expect(outcome.session.usage.costUsd).toBeGreaterThan(0);
    await call(alice, 'terminate_session', { sessionId: outcome.session.id });
  });

  it('reports progress while it waits, and wait_for_result takes a turn started without wait', async () => {
    const progress: Progress[] = [];
    // About 3 s: 30 pieces ("Echo: " and each word) at 10 a second.
    const words = Array.from({ length: 29 }, (_, i) => `w${i}`).join(' ');
    const waited = await call<TurnOutcome>(
      alice,
      'start_session',
      { provider: 'scripted', query: `[[rate 10]] ${words}`, wait: true },
      (p) => progress.push(p),
    );
    expect(waited.result!.text).toBe(`Echo: ${words}`);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.map((p) => p.progress)).toEqual(
      progress.map((p) => p.progress).sort((a, b) => a - b),
    );
    expect(progress.at(-1)!.message).toMatch(/^\d+ events in [\d.]+ s, the last: /);

    const started = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'scripted',
      query: '[[rate 10]] one two three four five six seven eight nine',
    });
    expect(started.result).toBeUndefined();
    const done = await call<TurnOutcome>(alice, 'wait_for_result', {
      sessionId: started.session.id,
      after: started.session.lastSeq,
      timeoutSeconds: 30,
    });
    expect(done.result!.text).toBe('Echo: one two three four five six seven eight nine');
    // From `after` 0, a turn that ended already is found at once.
    const again = await call<TurnOutcome>(alice, 'wait_for_result', {
      sessionId: started.session.id,
      after: 0,
      timeoutSeconds: 1,
    });
    expect(again.result!.seq).toBe(done.result!.seq);
  });

  it('times out a wait with WAIT_TIMEOUT, and the session goes on', async () => {
    const { session } = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'scripted',
      query: 'quick',
      wait: true,
    });
    const startedAt = Date.now();
    const err = await failure(alice, 'wait_for_result', {
      sessionId: session.id,
      timeoutSeconds: 1,
    });
    expect(Date.now() - startedAt).toBeLessThan(5000);
    expect(err.data).toMatchObject({
      code: 'WAIT_TIMEOUT',
      details: { sessionId: session.id, lastSeq: session.lastSeq },
    });
    const { session: after } = await call<{ session: SessionResource }>(alice, 'get_session', {
      sessionId: session.id,
    });
    expect(after.state).toBe('idle');
  });

  it('interrupts a running turn and terminates the session', async () => {
    const { session } = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'scripted',
      query: '[[events 600]] [[rate 10]]',
    });
    const waiting = call<TurnOutcome>(alice, 'wait_for_result', {
      sessionId: session.id,
      after: 0,
      timeoutSeconds: 30,
    });
    await call(alice, 'interrupt_session', { sessionId: session.id });
    const { result } = await waiting;
    expect(result!.interrupted).toBe(true);
    const ended = await call<{ session: SessionResource }>(alice, 'terminate_session', {
      sessionId: session.id,
    });
    expect(ended.session.state).toBe('terminated');
  });

  it('stops waiting when the client goes away: its subscription to the log is closed', async () => {
    const { session } = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'scripted',
      query: 'idle after this',
      wait: true,
    });
    // The log's followers of the session (private: what the wait holds while it runs).
    const log = server.app.get<EventLog, { subscriptions: Map<string, Set<unknown>> }>(EventLog);
    const followers = () => log.subscriptions.get(session.id)?.size ?? 0;
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'wait_for_result', arguments: { sessionId: session.id, timeoutSeconds: 60 } },
    });
    const req = httpRequest(`${server.url}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ALICE}`,
        accept: 'application/json, text/event-stream',
        'content-type': 'application/json',
      },
    });
    req.on('error', () => undefined);
    const answered = new Promise<number>((resolve) =>
      req.on('response', (res) => resolve(res.statusCode!)),
    );
    req.end(body);
    expect(await answered).toBe(200);
    expect(await eventually(() => followers() === 1)).toBe(true);
    req.destroy();
    expect(await eventually(() => followers() === 0)).toBe(true);
  });

  it("lists only the key's own sessions", async () => {
    const { session } = await call<TurnOutcome>(bob, 'start_session', {
      provider: 'scripted',
      query: 'mine',
    });
    const ids = async (client: Client) =>
      (await call<{ sessions: SessionResource[] }>(client, 'list_sessions', {})).sessions.map(
        (s) => s.id,
      );
    expect(await ids(bob)).toEqual([session.id]);
    const alices = await ids(alice);
    expect(alices.length).toBeGreaterThan(0);
    expect(alices).not.toContain(session.id);
  });

  it('refuses a request without a valid key with 401 UNAUTHORIZED', async () => {
    const body = { jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} };
    const accept = 'application/json, text/event-stream';
    for (const auth of [undefined, 'Bearer wrong-key-0123456789', ALICE]) {
      const req = request(server.url).post('/mcp').set('accept', accept);
      const res = await (auth ? req.set('authorization', auth) : req).send(body).expect(401);
      expect(res.body.error.code).toBe('UNAUTHORIZED');
    }
    await expect(connect('wrong-key-0123456789')).rejects.toThrow(/UNAUTHORIZED/);
    // Stateless: no stream to open, no session to end.
    await request(server.url).get('/mcp').set('authorization', `Bearer ${ALICE}`).expect(405);
    await request(server.url).delete('/mcp').set('authorization', `Bearer ${ALICE}`).expect(405);
  });

  it('answers bad input with a JSON-RPC error carrying a stable code, starting nothing', async () => {
    const { session: bobs } = await call<TurnOutcome>(bob, 'start_session', {
      provider: 'scripted',
      query: 'not yours',
    });
    const before = await call<{ sessions: SessionResource[] }>(alice, 'list_sessions', {});
    const cases: Array<[string, string, unknown, string, string[]?]> = [
      ['unknown tool', 'rm_rf', {}, 'NOT_FOUND'],
      ['missing query', 'start_session', { provider: 'scripted' }, 'VALIDATION_FAILED', ['query']],
      ['query of the wrong type', 'start_session', { query: 42 }, 'VALIDATION_FAILED', ['query']],
      [
        'unknown argument',
        'start_session',
        { query: 'hi', shell: 'x' },
        'VALIDATION_FAILED',
        ['shell'],
      ],
      [
        'cwd outside the workspace',
        'start_session',
        { query: 'hi', cwd: '/etc' },
        'VALIDATION_FAILED',
      ],
      [
        'bad provider name',
        'start_session',
        { query: 'hi', provider: '../x' },
        'VALIDATION_FAILED',
        ['provider'],
      ],
      [
        'unknown provider',
        'start_session',
        { query: 'hi', provider: 'nope' },
        'PROVIDER_NOT_FOUND',
      ],
      [
        'a timeout out of range',
        'wait_for_result',
        { sessionId: bobs.id, timeoutSeconds: 0 },
        'VALIDATION_FAILED',
        ['timeoutSeconds'],
      ],
      [
        'a session id that is no uuid',
        'get_session',
        { sessionId: 'abc' },
        'VALIDATION_FAILED',
        ['sessionId'],
      ],
      ['an unknown session', 'get_session', { sessionId: randomUUID() }, 'SESSION_NOT_FOUND'],
      ["another key's session", 'get_session', { sessionId: bobs.id }, 'SESSION_NOT_FOUND'],
      [
        "input to another key's session",
        'send_input',
        { sessionId: bobs.id, input: 'hi' },
        'SESSION_NOT_FOUND',
      ],
      ["another key's events", 'get_events', { sessionId: bobs.id }, 'SESSION_NOT_FOUND'],
      [
        "ending another key's session",
        'terminate_session',
        { sessionId: bobs.id },
        'SESSION_NOT_FOUND',
      ],
    ];
    for (const [what, tool, args, code, fields] of cases) {
      const err = await failure(alice, tool, args);
      expect({ what, rpc: err.code, data: err.data }).toMatchObject({
        what,
        rpc: -32602,
        data: { code, ...(fields ? { details: { fields } } : {}) },
      });
      expect(err.message).toContain(code);
    }
    // Nothing started, nothing of Bob's touched, and the server goes on serving.
    expect(await call(alice, 'list_sessions', {})).toEqual(before);
    const { session } = await call<{ session: SessionResource }>(bob, 'get_session', {
      sessionId: bobs.id,
    });
    expect(session.state).not.toBe('terminated');
    const ok = await call<TurnOutcome>(alice, 'start_session', {
      provider: 'scripted',
      query: 'still here',
      wait: true,
    });
    expect(ok.result!.text).toBe('Echo: still here');
  });
});

describe('the MCP server without API keys (local mode), and its shutdown', () => {
  it('serves a client without a key as the local admin, and ends a wait as it shuts down', async () => {
    const server = await startTestServer({ env: { JELMORE_SCRIPTED_ENABLED: 'true' } });
    const client = new Client({ name: 'jelmore-e2e', version: '1.0.0' });
    let closed = false;
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
      const started = (await client.callTool({
        name: 'start_session',
        arguments: { provider: 'scripted', query: 'local', wait: true },
      })) as CallToolResult;
      const { session, result } = started.structuredContent as unknown as TurnOutcome;
      expect(result!.text).toBe('Echo: local');
      const waiting = client
        .callTool({
          name: 'wait_for_result',
          arguments: { sessionId: session.id, timeoutSeconds: 60 },
        })
        .then(
          () => undefined,
          (e: unknown) => e as McpError,
        );
      // The wait holds its request open; the shutdown ends it rather than waiting a minute for it.
      await new Promise((resolve) => setTimeout(resolve, 200));
      const startedAt = Date.now();
      await server.close();
      closed = true;
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect((await waiting)?.data).toMatchObject({ code: 'SHUTTING_DOWN' });
    } finally {
      await client.close();
      if (!closed) await server.close();
    }
  });
});
