import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { contentText, FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { allowThenDeny } from './support/permission-scenarios';
import { processesIn, waitUntil } from './support/processes';
import { connect, request as wsRequest, startSession, terminateSession } from './support/ws-client';

/** The model requests whose last user message holds `text`. */
function requestsTo(models: FakeOpenAIServer, text: string) {
  return models.agentRequests().filter((r) => {
    const last = [...r.messages].reverse().find((m) => m.role === 'user');
    return contentText(last?.content).includes(text);
  });
}

describe('OpenCode over ACP (the opencode-acp preset: real opencode acp, fake OpenAI API)', () => {
  const models = new FakeOpenAIServer({ slowDelayMs: 100 });
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-opencode-acp-'));
  let env: Record<string, string>;
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    env = { JELMORE_OPENCODE_BASE_URL: await models.start() };
    server = await startTestServer({ env, dir });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (payload: object) => startSession(socket, { provider: 'opencode-acp', ...payload });

  const terminate = (session: SessionResource) => terminateSession(server.url, session);

  it('streams in pieces and prices the turn from the agent`s own cost', async () => {
    const { session, events } = await start({ query: '[[slow 4]] hello' });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('assistant').map((e) => e.text)).toEqual([
      'piece 1. ',
      'piece 2. ',
      'piece 3. ',
      'piece 4. ',
    ]);
    const result = events.ofType('result')[0];
    expect(result.text).toBe('piece 1. piece 2. piece 3. piece 4. ');
    expect(result.usage.costUsd).toBeGreaterThan(0);
    await terminate(session);
  });

  it('asks before a command runs: allow runs it in the session directory, deny does not', async () => {
    const { session, events } = await start({
      query: '[[bash echo allowed > allowed.txt]]',
      permissions: 'ask',
    });
    const [allowed] = await allowThenDeny(socket, session, events);
    expect(allowed.input).toMatchObject({ command: 'echo allowed > allowed.txt' });
    await terminate(session);
  });

  it('interrupt keeps the context: the next model request carries the interrupted turn', async () => {
    // Long enough that a busy machine's interrupt still lands mid-turn; the interrupt ends it early.
    const { session, events } = await start({ query: '[[slow 400]] count slowly' });
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 2, 60_000);
    await wsRequest(socket, 'session:interrupt', { sessionId: session.id });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('result')[0].interrupted).toBe(true);
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'where were we?' });
    await events.waitForResults(2, 60_000);
    const [next] = requestsTo(models, 'where were we?');
    expect(JSON.stringify(next.messages)).toContain('count slowly');
    await terminate(session);
  });

  it('a restarted server resumes the session with session/load', async () => {
    const { session, events } = await start({ query: 'remember the word heron' });
    await events.waitForResults(1, 60_000);
    socket.disconnect();
    await server.close();
    expect(processesIn(session.cwd)).toEqual([]);

    server = await startTestServer({ env, dir });
    socket = await connect(server.url);
    await request(server.url).post(`/v1/sessions/${session.id}/resume`).expect(200);
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({ text: 'which word?' })
      .expect(202);
    expect(await waitUntil(async () => requestsTo(models, 'which word?').length > 0, 60_000)).toBe(
      true,
    );
    expect(JSON.stringify(requestsTo(models, 'which word?')[0].messages)).toContain(
      'remember the word heron',
    );
    await terminate(session);
  });
});
