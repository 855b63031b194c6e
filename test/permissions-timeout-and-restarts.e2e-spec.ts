import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { PendingPermission, SessionResource } from '@jelmore/contracts';
import { FakeAnthropicServer } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { directiveFirst, eventIn, eventsOf, stateOf } from './support/permissions';
import { freePort, ServerProcess } from './support/server-process';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

// A request nobody answers, and pending requests across a clean shutdown and a crash.
describe('a permission request nobody answers', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { JELMORE_PERMISSION_TIMEOUT_SECONDS: '2' } });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('is denied when the timeout passes; the tool does not run', async () => {
    const created = await request(server.url)
      .post('/v1/sessions')
      .send({ query: '[[bash echo late > late.txt]]', permissions: 'ask' })
      .expect(201);
    const session = created.body as SessionResource;
    const asked = await eventIn(server.url, session.id, 'permission_request');
    const resolved = await eventIn(server.url, session.id, 'permission_resolved');
    expect(resolved).toMatchObject({
      requestId: asked.requestId,
      allow: false,
      by: 'timeout',
      reason: 'no answer within 2 s',
    });
    const waited = Date.parse(resolved.ts) - Date.parse(asked.ts);
    expect(waited).toBeGreaterThanOrEqual(1900);
    expect(waited).toBeLessThan(5000);

    await eventIn(server.url, session.id, 'result');
    const toolResult = await eventIn(server.url, session.id, 'tool_result');
    expect(toolResult).toMatchObject({ isError: true });
    expect(toolResult.output).toContain('no answer within 2 s');
    expect(existsSync(join(session.cwd, 'late.txt'))).toBe(false);
    const late = await request(server.url)
      .post(`/v1/sessions/${session.id}/permissions/${asked.requestId}`)
      .send({ allow: true })
      .expect(404);
    expect(late.body.error.code).toBe('PERMISSION_REQUEST_NOT_FOUND');
    await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
  });
});

describe('pending permission requests across server restarts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-permissions-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a shutdown suspends the session and settles its pending request as cancelled', async () => {
    const first = await startTestServer({ dir });
    const created = await request(first.url)
      .post('/v1/sessions')
      .send({ query: '[[bash echo shut > shut.txt]]', permissions: 'ask' })
      .expect(201);
    const session = created.body as SessionResource;
    const asked = await eventIn(first.url, session.id, 'permission_request');
    await first.close();

    const second = await startTestServer({ dir });
    try {
      expect(await stateOf(second.url, session.id)).toBe('suspended');
      const log = await eventsOf(second.url, session.id);
      const resolvedAt = log.findIndex((e) => e.type === 'permission_resolved');
      expect(log[resolvedAt]).toMatchObject({
        requestId: asked.requestId,
        allow: false,
        by: 'cancelled',
        reason: 'session suspended (server shutting down)',
      });
      expect(log[resolvedAt + 1]).toMatchObject({ type: 'status', to: 'suspended' });
      const reply = await request(second.url)
        .post(`/v1/sessions/${session.id}/permissions/${asked.requestId}`)
        .send({ allow: true })
        .expect(404);
      expect(reply.body.error.code).toBe('PERMISSION_REQUEST_NOT_FOUND');
      expect(existsSync(join(session.cwd, 'shut.txt'))).toBe(false);
      await request(second.url).delete(`/v1/sessions/${session.id}`).expect(200);
    } finally {
      await second.close();
    }
  });

  it('after a crash it is still pending, re-sent to subscribers, and denied when the session resumes', async () => {
    const fake = new FakeAnthropicServer({ script: directiveFirst() });
    const fakeUrl = await fake.start();
    const server = new ServerProcess(await freePort(), {
      JELMORE_DATA_DIR: join(dir, 'crash-data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'crash-workspace'),
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
      JELMORE_LOG_LEVEL: 'warn',
    });
    const sockets: Socket[] = [];
    try {
      await server.start();
      const created = await request(server.url)
        .post('/v1/sessions')
        .send({ query: '[[bash echo crash > crash.txt]]', permissions: 'ask' })
        .expect(201);
      const session = created.body as SessionResource;
      const asked = await eventIn(server.url, session.id, 'permission_request');

      await server.kill('SIGKILL');
      await server.start();
      expect(await stateOf(server.url, session.id)).toBe('interrupted');

      // Still pending: in the replay with no resolution after it, and in the subscribe ack.
      const socket = await connect(server.url);
      sockets.push(socket);
      const replay = new EventCollector(socket, session.id);
      const ack = await wsRequest<{ pendingPermissions: PendingPermission[] }>(
        socket,
        'session:subscribe',
        { sessionId: session.id, after: 0 },
      );
      expect(ack).toMatchObject({ ok: true });
      const pending = (ack as { pendingPermissions: PendingPermission[] }).pendingPermissions;
      expect(pending).toEqual([
        {
          requestId: asked.requestId,
          tool: 'Bash',
          input: asked.input,
          toolUseId: asked.toolUseId,
          createdAt: expect.any(String),
        },
      ]);
      await replay.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'interrupted'));
      expect(replay.ofType('permission_request')).toEqual([asked]);
      expect(replay.ofType('permission_resolved')).toEqual([]);
      const listed = await request(server.url)
        .get(`/v1/sessions/${session.id}/permissions`)
        .expect(200);
      expect(listed.body.requests).toEqual(pending);

      // Its agent is gone: an answer now cannot reach it, and says so.
      const early = await request(server.url)
        .post(`/v1/sessions/${session.id}/permissions/${asked.requestId}`)
        .send({ allow: true })
        .expect(409);
      expect(early.body.error).toMatchObject({
        code: 'SESSION_NOT_ACTIVE',
        message: expect.stringContaining('resume it first'),
      });

      await request(server.url).post(`/v1/sessions/${session.id}/resume`).expect(200);
      await replay.waitFor((all) => all.some((e) => e.type === 'permission_resolved'));
      expect(replay.ofType('permission_resolved')).toEqual([
        expect.objectContaining({
          requestId: asked.requestId,
          allow: false,
          by: 'cancelled',
          reason: 'server restarted',
        }),
      ]);
      const late = await request(server.url)
        .post(`/v1/sessions/${session.id}/permissions/${asked.requestId}`)
        .send({ allow: true })
        .expect(404);
      expect(late.body.error.code).toBe('PERMISSION_REQUEST_NOT_FOUND');
      expect(existsSync(join(session.cwd, 'crash.txt'))).toBe(false);

      // The resumed agent keeps the session's policy: its next tool call asks too.
      await request(server.url)
        .post(`/v1/sessions/${session.id}/input`)
        .send({ text: '[[bash echo back > back.txt]]' })
        .expect(202);
      await replay.waitFor(
        (all) => all.filter((e) => e.type === 'permission_request').length === 2,
      );
      const next = replay.ofType('permission_request')[1];
      await request(server.url)
        .post(`/v1/sessions/${session.id}/permissions/${next.requestId}`)
        .send({ allow: true })
        .expect(200);
      await replay.waitFor((all) => all.some((e) => e.type === 'result'));
      expect(readFileSync(join(session.cwd, 'back.txt'), 'utf8').trim()).toBe('back');
      await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
    } finally {
      for (const socket of sockets) socket.disconnect();
      await server.kill('SIGTERM');
      await fake.stop();
    }
  });
});
