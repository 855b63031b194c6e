import request from 'supertest';
import type { Socket } from 'socket.io-client';
import type { SessionResource } from '@jelmore/contracts';
import { FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

const ALICE = 'alice-key-0123456789';
const BOB = 'bob-key-0123456789ab';

/** A query that makes the fake model call one of Jelmore's MCP tools with `input`. */
const callTool = (tool: string, input: object) =>
  `[[mcp mcp__jelmore__${tool} ${JSON.stringify(input)}]]`;

/**
 * Delegation: a Claude session's agent (the real CLI, against the fake Anthropic API) starts another
 * session through Jelmore's MCP server, with the token Jelmore gave it, and gets the child's answer
 * back in the same turn.
 */
describe('Delegation through the MCP server', () => {
  let server: TestServer;
  let socket: Socket;

  const models = new FakeOpenAIServer();

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        // The children on OpenCode run against this fake OpenAI-compatible API.
        JELMORE_OPENCODE_BASE_URL: await models.start(),
        JELMORE_OPENCODE_API_KEY: 'test-key-not-secret',
        JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB}`,
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_DELEGATION_MAX_CHILDREN: '2',
      },
    });
    socket = await connect(server.url, ALICE);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
  });

  const as = (key: string) => ({
    get: (path: string) => request(server.url).get(path).set('authorization', `Bearer ${key}`),
    post: (path: string) => request(server.url).post(path).set('authorization', `Bearer ${key}`),
    delete: (path: string) =>
      request(server.url).delete(path).set('authorization', `Bearer ${key}`),
  });

  async function start(
    body: object,
  ): Promise<{ session: SessionResource; events: EventCollector }> {
    const res = await as(ALICE).post('/v1/sessions').send(body);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    const session = res.body as SessionResource;
    const events = new EventCollector(socket, session.id);
    expect(await wsRequest(socket, 'session:subscribe', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    return { session, events };
  }

  it('hands a sub-task to another provider and gets its answer back in the same turn', async () => {
    const { session: parent, events } = await start({
      query: callTool('start_session', {
        provider: 'scripted',
        query: 'summarise the child task',
        wait: true,
      }),
      delegation: true,
      maxBudgetUsd: 5,
    });
    expect(parent.delegation).toBe(true);
    await events.waitForResults(1, 60_000);

    const [call] = events.ofType('tool_use');
    expect(call.name).toBe('mcp__jelmore__start_session');
    const [announced] = events.ofType('child_session');
    expect(announced).toMatchObject({ provider: 'scripted' });
    expect(announced.seq).toBeLessThan(events.ofType('result')[0].seq);
    const childId = announced.childSessionId;

    // The child ran, as Alice's, under the parent; its answer is the tool's result.
    const child = (await as(ALICE).get(`/v1/sessions/${childId}`).expect(200))
      .body as SessionResource;
    expect(child).toMatchObject({ parentId: parent.id, provider: 'scripted' });
    expect(child.forkedFrom).toBeUndefined();
    const childEvents = (await as(ALICE).get(`/v1/sessions/${childId}/events`).expect(200)).body
      .events as Array<{ type: string; text?: string }>;
    const childAnswer = childEvents.find((e) => e.type === 'result')?.text;
    expect(childAnswer).toBeTruthy();
    const [output] = events.ofType('tool_result');
    expect(output).toMatchObject({ toolUseId: call.id, isError: false });
    expect(output.output).toContain(childId);
    expect(output.output).toContain(childAnswer!);

    // Bob sees neither; ending the parent ends its child.
    await as(BOB).get(`/v1/sessions/${childId}`).expect(404);
    await as(ALICE).delete(`/v1/sessions/${parent.id}`).expect(200);
    const ended = (await as(ALICE).get(`/v1/sessions/${childId}`).expect(200))
      .body as SessionResource;
    expect(ended.state).toBe('terminated');
  });

  it('runs the child on the real OpenCode agent, under the parent', async () => {
    const { session: parent, events } = await start({
      query: callTool('start_session', {
        provider: 'opencode',
        query: 'child-task-for-opencode',
        wait: true,
      }),
      delegation: true,
    });
    await events.waitForResults(1, 120_000);
    const [announced] = events.ofType('child_session');
    expect(announced).toMatchObject({ provider: 'opencode' });
    const [output] = events.ofType('tool_result');
    expect(output.isError).toBe(false);
    // The fake OpenAI API echoes the prompt: the child's answer came back to the parent's agent.
    expect(output.output).toContain('Echo: child-task-for-opencode');
    expect(models.agentRequests().length).toBeGreaterThan(0);
    const child = (await as(ALICE).get(`/v1/sessions/${announced.childSessionId}`).expect(200))
      .body as SessionResource;
    expect(child).toMatchObject({ parentId: parent.id, provider: 'opencode', state: 'idle' });
    await as(ALICE).delete(`/v1/sessions/${parent.id}`).expect(200);
    const ended = (await as(ALICE).get(`/v1/sessions/${child.id}`).expect(200))
      .body as SessionResource;
    expect(ended.state).toBe('terminated');
  }, 180_000);

  it("brings a child's permission request to the parent's clients, who answer it", async () => {
    const { session: parent, events } = await start({
      query: callTool('start_session', {
        provider: 'claude',
        query: '[[bash echo from-the-child > child.txt]]',
        permissions: 'ask',
        wait: true,
      }),
      delegation: true,
    });
    // The parent's agent waits on its child, which waits on a person: only the parent is watched.
    await events.waitFor((all) => all.some((e) => e.type === 'child_permission_request'), 60_000);
    const [asked] = events.ofType('child_permission_request');
    const [announced] = events.ofType('child_session');
    expect(asked).toMatchObject({ childSessionId: announced.childSessionId, tool: 'Bash' });
    expect(asked.input).toMatchObject({ command: 'echo from-the-child > child.txt' });

    // Answered on the child's session, from the parent's socket.
    expect(
      await wsRequest(socket, 'permission:reply', {
        sessionId: asked.childSessionId,
        requestId: asked.requestId,
        allow: true,
      }),
    ).toMatchObject({ ok: true });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('child_permission_resolved')).toEqual([
      expect.objectContaining({ requestId: asked.requestId, allow: true, by: 'client' }),
    ]);
    const childEvents = (
      await as(ALICE).get(`/v1/sessions/${asked.childSessionId}/events`).expect(200)
    ).body.events as Array<{ type: string; requestId?: string; allow?: boolean }>;
    expect(childEvents.filter((e) => e.type === 'permission_resolved')).toEqual([
      expect.objectContaining({ requestId: asked.requestId, allow: true }),
    ]);
    // The child's tool ran, and its turn's answer reached the parent's agent.
    expect(events.ofType('tool_result')[0]).toMatchObject({ isError: false });
    await as(ALICE).delete(`/v1/sessions/${parent.id}`).expect(200);
  }, 120_000);

  it('refuses what a delegating agent may not do, as MCP errors with a code', async () => {
    // Not delegating: the agent gets no MCP server, so the model's call names an unknown tool.
    const { session: plain, events: plainEvents } = await start({
      query: callTool('list_sessions', {}),
    });
    await plainEvents.waitForResults(1, 60_000);
    expect(plainEvents.ofType('tool_result')[0]).toMatchObject({ isError: true });
    expect(plainEvents.ofType('child_session')).toEqual([]);

    // A delegating agent sees its children only: another of Alice's sessions is not found to it.
    const { session: parent, events } = await start({
      query: callTool('get_session', { sessionId: plain.id }),
      delegation: true,
    });
    await events.waitForResults(1, 60_000);
    const [notFound] = events.ofType('tool_result');
    expect(notFound.isError).toBe(true);
    expect(notFound.output).toContain('SESSION_NOT_FOUND');

    // Fan-out: two children at most (JELMORE_DELEGATION_MAX_CHILDREN=2), the third is refused.
    for (const n of [1, 2, 3]) {
      await as(ALICE)
        .post(`/v1/sessions/${parent.id}/input`)
        .send({ text: callTool('start_session', { provider: 'scripted', query: `child ${n}` }) })
        .expect(202);
      await events.waitForResults(1 + n, 60_000);
    }
    const outputs = events.ofType('tool_result').slice(1);
    expect(outputs.map((o) => o.isError)).toEqual([false, false, true]);
    expect(outputs[2].output).toContain('DELEGATION_LIMIT');
    expect(events.ofType('child_session')).toHaveLength(2);
    const listed = (await as(ALICE).get('/v1/sessions').expect(200)).body as SessionResource[];
    expect(listed.filter((s) => s.parentId === parent.id)).toHaveLength(2);

    // A delegation token is not an API key: REST refuses it.
    await request(server.url)
      .get('/v1/sessions')
      .set('authorization', 'Bearer jdt.e30.forged')
      .expect(401);
    for (const id of [plain.id, parent.id])
      await as(ALICE).delete(`/v1/sessions/${id}`).expect(200);
  });
});
