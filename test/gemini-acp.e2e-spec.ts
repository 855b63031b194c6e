import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { FakeGeminiServer, userText } from './fixtures/fake-gemini';
import { startTestServer, TestServer } from './support/app';
import { allowThenDeny } from './support/permission-scenarios';
import { processesIn, waitUntil } from './support/processes';
import { connect, request as wsRequest, startSession, terminateSession } from './support/ws-client';

describe('Gemini CLI over ACP (the gemini-acp preset: real gemini --acp, fake Gemini API)', () => {
  const models = new FakeGeminiServer({ slowDelayMs: 100 });
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-gemini-acp-'));
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    const baseUrl = await models.start();
    // The preset reads the gemini folder's settings from the environment, as in production.
    process.env.JELMORE_GEMINI_BASE_URL = baseUrl;
    process.env.JELMORE_GEMINI_API_KEY = 'test-key-not-secret';
    server = await startTestServer({ dir });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
    delete process.env.JELMORE_GEMINI_BASE_URL;
    delete process.env.JELMORE_GEMINI_API_KEY;
    rmSync(dir, { recursive: true, force: true });
  });

  const requestFor = (text: string) =>
    models.agentRequests().find((r) => userText(r.contents[r.contents.length - 1]).includes(text));

  const start = (payload: object) => startSession(socket, { provider: 'gemini-acp', ...payload });

  const terminate = (session: SessionResource) => terminateSession(server.url, session);

  it('streams in pieces and keeps the conversation in one agent across turns', async () => {
    const { session, events } = await start({ query: '[[slow 4]] remember kiwi' });
    expect(session).toMatchObject({ provider: 'gemini-acp', model: 'gemini-2.5-flash' });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('assistant').map((e) => e.text)).toEqual([
      'piece 1. ',
      'piece 2. ',
      'piece 3. ',
      'piece 4. ',
    ]);
    expect(events.ofType('result')[0].text).toBe('piece 1. piece 2. piece 3. piece 4. ');

    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'which fruit?' });
    await events.waitForResults(2, 60_000);
    expect(JSON.stringify(requestFor('which fruit?')?.contents)).toContain('remember kiwi');
    await terminate(session);
  });

  it('asks before a command runs: allow runs it in the session directory, deny does not', async () => {
    const { session, events } = await start({
      query: '[[bash echo allowed > allowed.txt]]',
      permissions: 'ask',
    });
    const [allowed] = await allowThenDeny(socket, session, events);
    expect(allowed.tool).toContain('echo allowed > allowed.txt');
    // The CLI asks before it announces the call: the request announces it.
    expect(events.ofType('tool_use')[0]).toMatchObject({ id: allowed.toolUseId });
    await terminate(session);
  });

  it('runs commands unasked under bypass, and interrupt ends the turn as interrupted', async () => {
    const { session, events } = await start({ query: '[[bash echo ran > ran.txt]]' });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('permission_request')).toEqual([]);
    expect(readFileSync(join(session.cwd, 'ran.txt'), 'utf8').trim()).toBe('ran');

    await wsRequest(socket, 'session:input', { sessionId: session.id, text: '[[slow 40]] go' });
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 2, 60_000);
    await wsRequest(socket, 'session:interrupt', { sessionId: session.id });
    await events.waitForResults(2, 60_000);
    expect(events.ofType('result')[1].interrupted).toBe(true);
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'still there?' });
    await events.waitForResults(3, 60_000);
    expect(events.ofType('result')[2].text).toContain('still there?');
    await terminate(session);
  });

  it('a restarted server resumes the chat with session/load', async () => {
    const { session, events } = await start({ query: 'remember the word heron' });
    await events.waitForResults(1, 60_000);
    const answeredAt = Date.parse(events.ofType('result')[0].ts);
    socket.disconnect();
    await server.close();
    expect(processesIn(session.cwd)).toEqual([]);
    // Gemini CLI 0.61 names a chat's file by the minute it began, and a process started within that
    // minute resets the file instead of loading it: come back in the next minute.
    const minute = (ms: number) => Math.floor(ms / 60_000);
    expect(await waitUntil(async () => minute(Date.now()) > minute(answeredAt), 65_000)).toBe(true);

    server = await startTestServer({ dir });
    socket = await connect(server.url);
    await request(server.url).post(`/v1/sessions/${session.id}/resume`).expect(200);
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({ text: 'which word?' })
      .expect(202);
    expect(await waitUntil(async () => requestFor('which word?') !== undefined, 60_000)).toBe(true);
    expect(JSON.stringify(requestFor('which word?')?.contents)).toContain(
      'remember the word heron',
    );
    await terminate(session);
  }, 180_000);
});
