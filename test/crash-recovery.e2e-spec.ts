import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { FakeAnthropicServer, lastUserContent, textOf } from './fixtures/fake-anthropic';
import { eventually, processesMentioning, waitUntil } from './support/processes';
import { freePort, ServerProcess } from './support/server-process';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

describe('SIGKILL of the server while an agent streams', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-crash-'));
  const fake = new FakeAnthropicServer({ slowDelayMs: 50 });
  let server: ServerProcess;

  beforeAll(async () => {
    const fakeUrl = await fake.start();
    server = new ServerProcess(await freePort(), {
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses nothing a client saw, leaves no agent behind, and the session resumes', async () => {
    const created = await request(server.url)
      .post('/v1/sessions')
      .send({ query: '[[slow 400]]' })
      .expect(201);
    const session = created.body as SessionResource;
    const socket = await connect(server.url);
    const seen = new EventCollector(socket, session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: session.id });
    await seen.waitFor((events) => events.filter((e) => e.type === 'assistant').length >= 20);
    expect(processesMentioning(session.id).length).toBeGreaterThan(0);

    await server.kill('SIGKILL');
    socket.disconnect();
    const received: SessionEvent[] = [...seen.events];

    await server.start();
    const after = (await request(server.url).get(`/v1/sessions/${session.id}`).expect(200)).body;
    expect(after.state).toBe('interrupted');
    // The agent outlived the server in its own process group; the new server ended it at boot.
    expect(await eventually(() => processesMentioning(session.id).length === 0, 5000)).toBe(true);

    const again = await connect(server.url);
    try {
      const replay = new EventCollector(again, session.id);
      await wsRequest(again, 'session:subscribe', { sessionId: session.id, after: 0 });
      await replay.waitFor((events) =>
        events.some((e) => e.type === 'status' && e.to === 'interrupted'),
      );
      expect(replay.events.slice(0, received.length)).toEqual(received);
      expect(replay.events.map((e) => e.seq)).toEqual(replay.events.map((_, i) => i + 1));

      expect(await wsRequest(again, 'session:resume', { sessionId: session.id })).toMatchObject({
        ok: true,
      });
      await wsRequest(again, 'session:input', { sessionId: session.id, text: 'are you back?' });
      await replay.waitFor((events) => events.some((e) => e.type === 'result'));
      expect(replay.ofType('result')[0].text).toBe('Echo: are you back?');
      const resumedRequest = fake
        .agentRequests()
        .find((r) => textOf(lastUserContent(r)).includes('are you back?'));
      expect(JSON.stringify(resumedRequest?.messages)).toContain('[[slow 400]]');
      await wsRequest(again, 'session:terminate', { sessionId: session.id });
      expect(await waitUntil(async () => processesMentioning(session.id).length === 0)).toBe(true);
    } finally {
      again.disconnect();
    }
  });
});
