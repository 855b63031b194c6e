import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { PendingPermission, SessionEvent, SessionResource } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { directiveFirst, eventIn, toolResultsSentToModel } from './support/permissions';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef01';
const KEYS = `alice:${ALICE},bob:${BOB}`;
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };

// Asking, answering over Socket.IO and REST, cancelling, and the deny-writes and bypass policies.
describe('tool permissions (real Claude Code CLI, fake model API)', () => {
  let server: TestServer;
  let alice: Socket;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: KEYS,
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_PERMISSION_TIMEOUT_SECONDS: '120',
      },
      fake: { script: directiveFirst() },
    });
    alice = await open(ALICE);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await server?.close();
  });

  async function open(token: string): Promise<Socket> {
    const socket = await connect(server.url, token);
    sockets.push(socket);
    return socket;
  }

  /** Creates a session over Socket.IO and follows it from seq 1. */
  async function create(query: string, permissions?: string) {
    const ack = await wsRequest<{ session: SessionResource }>(alice, 'session:create', {
      query,
      ...(permissions ? { permissions } : {}),
    });
    if (!ack.ok) throw new Error(`create failed: ${JSON.stringify(ack.error)}`);
    const events = new EventCollector(alice, ack.session.id);
    expect(
      await wsRequest(alice, 'session:subscribe', { sessionId: ack.session.id, after: 0 }),
    ).toMatchObject({ ok: true });
    return { session: ack.session, events };
  }

  async function nthRequest(
    events: EventCollector,
    n = 1,
  ): Promise<Extract<SessionEvent, { type: 'permission_request' }>> {
    await events.waitFor((all) => all.filter((e) => e.type === 'permission_request').length >= n);
    return events.ofType('permission_request')[n - 1];
  }

  it('over Socket.IO: the tool waits for the decision, then an allowed tool runs', async () => {
    // The command copies a file the test writes just before it answers: run any earlier, it would
    // not find it. (That a tool never runs without an allow, however late it would, the denied test
    // below shows: its file is checked once the turn's result is in.)
    const { session, events } = await create('[[bash cat gate.txt > allowed.txt]]', 'ask');
    expect(session.permissions).toBe('ask');
    const file = join(session.cwd, 'allowed.txt');

    const asked = await nthRequest(events);
    const toolUse = events.ofType('tool_use')[0];
    expect(asked).toMatchObject({
      tool: 'Bash',
      input: { command: 'cat gate.txt > allowed.txt' },
      toolUseId: toolUse.id,
    });
    expect(asked.seq).toBeGreaterThan(toolUse.seq);

    // A subscriber that skips the request by `after` still hears it waits (ack); one from the start
    // gets it in the replay.
    const late = await open(ALICE);
    const skipping = await wsRequest<{ lastSeq: number; pendingPermissions: PendingPermission[] }>(
      late,
      'session:subscribe',
      { sessionId: session.id, after: asked.seq },
    );
    expect(skipping).toMatchObject({
      ok: true,
      pendingPermissions: [
        {
          requestId: asked.requestId,
          tool: 'Bash',
          input: asked.input,
          toolUseId: toolUse.id,
          createdAt: expect.any(String),
          expiresAt: expect.any(String),
        },
      ],
    });
    const pending = (skipping as { pendingPermissions: PendingPermission[] }).pendingPermissions[0];
    const waitMs = Date.parse(pending.expiresAt!) - Date.parse(pending.createdAt);
    expect(waitMs).toBe(120_000);
    const replay = new EventCollector(late, session.id);
    await wsRequest(late, 'session:subscribe', { sessionId: session.id, after: 0 });
    await replay.waitFor((all) => all.some((e) => e.type === 'permission_request'));
    expect(replay.ofType('permission_request')).toEqual([asked]);

    // Nobody answered yet: the request still waits (the acks above), the tool has not run.
    expect(existsSync(file)).toBe(false);
    expect(events.ofType('tool_result')).toEqual([]);
    writeFileSync(join(session.cwd, 'gate.txt'), 'allowed\n');
    expect(
      await wsRequest(alice, 'permission:reply', {
        sessionId: session.id,
        requestId: asked.requestId,
        allow: true,
      }),
    ).toEqual({ ok: true });
    await events.waitForResults(1);

    expect(readFileSync(file, 'utf8').trim()).toBe('allowed');
    const resolved = events.ofType('permission_resolved');
    expect(resolved).toEqual([
      expect.objectContaining({ requestId: asked.requestId, allow: true, by: 'client' }),
    ]);
    const result = events.ofType('tool_result')[0];
    expect(result).toMatchObject({ toolUseId: toolUse.id, isError: false });
    expect(resolved[0].seq).toBeGreaterThan(asked.seq);
    expect(result.seq).toBeGreaterThan(resolved[0].seq);
    // The other subscriber saw the resolution live.
    await replay.waitFor((all) => all.some((e) => e.type === 'permission_resolved'));

    // Answered: a second answer is refused, never silently accepted.
    expect(
      await wsRequest(alice, 'permission:reply', {
        sessionId: session.id,
        requestId: asked.requestId,
        allow: false,
      }),
    ).toMatchObject({ ok: false, error: { code: 'PERMISSION_REQUEST_NOT_FOUND' } });
    const listed = await request(server.url)
      .get(`/v1/sessions/${session.id}/permissions`)
      .set(asAlice)
      .expect(200);
    expect(listed.body).toEqual({ requests: [] });
    await wsRequest(alice, 'session:terminate', { sessionId: session.id });
  });

  it('over Socket.IO: a denied tool does not run, and the agent is told why', async () => {
    const { session, events } = await create('[[bash echo denied > denied.txt]]', 'ask');
    const asked = await nthRequest(events);

    expect(
      await wsRequest(alice, 'permission:reply', {
        sessionId: session.id,
        requestId: asked.requestId,
        allow: false,
        reason: 'not on this machine',
      }),
    ).toEqual({ ok: true });
    await events.waitForResults(1);

    // The turn is over: had the tool run at any time, before or after the answer, its file would be here.
    expect(existsSync(join(session.cwd, 'denied.txt'))).toBe(false);
    expect(events.ofType('permission_resolved')).toEqual([
      expect.objectContaining({
        requestId: asked.requestId,
        allow: false,
        reason: 'not on this machine',
        by: 'client',
      }),
    ]);
    const result = events.ofType('tool_result')[0];
    expect(result.isError).toBe(true);
    expect(result.output).toContain('not on this machine');
    // What the model got back for the call: the denial, as the tool's error.
    const told = toolResultsSentToModel(server.fake).find((b) => b.tool_use_id === asked.toolUseId);
    expect(told).toMatchObject({ is_error: true });
    expect(JSON.stringify(told?.content)).toContain('not on this machine');
    expect(events.ofType('result')[0].text).toBe('Tool finished.');
    await wsRequest(alice, 'session:terminate', { sessionId: session.id });
  });

  it('over REST: listed, answered once; another key and unknown requests get 404', async () => {
    const http = () => request(server.url);
    const created = await http()
      .post('/v1/sessions')
      .set(asAlice)
      .send({ query: '[[bash echo rest > rest.txt]]', permissions: 'ask' })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session.permissions).toBe('ask');
    const base = `/v1/sessions/${session.id}/permissions`;
    const asked = await eventIn(server.url, session.id, 'permission_request', undefined, asAlice);
    const listed = await http().get(base).set(asAlice).expect(200);
    expect(listed.body.requests).toEqual([
      expect.objectContaining({ requestId: asked.requestId, tool: 'Bash', input: asked.input }),
    ]);

    // Another key: the session does not exist for it, over REST and Socket.IO, and nothing changes.
    const bobReply = await http()
      .post(`${base}/${asked.requestId}`)
      .set(asBob)
      .send({ allow: true })
      .expect(404);
    expect(bobReply.body.error.code).toBe('SESSION_NOT_FOUND');
    expect((await http().get(base).set(asBob).expect(404)).body.error.code).toBe(
      'SESSION_NOT_FOUND',
    );
    const bob = await open(BOB);
    expect(
      await wsRequest(bob, 'permission:reply', {
        sessionId: session.id,
        requestId: asked.requestId,
        allow: true,
      }),
    ).toMatchObject({ ok: false, error: { code: 'SESSION_NOT_FOUND' } });
    expect(
      await wsRequest(bob, 'session:subscribe', { sessionId: session.id, after: 0 }),
    ).toMatchObject({ ok: false, error: { code: 'SESSION_NOT_FOUND' } });

    // A request that never was: 404 with its own code; a malformed answer: 400.
    const unknown = await http()
      .post(`${base}/${randomUUID()}`)
      .set(asAlice)
      .send({ allow: true })
      .expect(404);
    expect(unknown.body.error.code).toBe('PERMISSION_REQUEST_NOT_FOUND');
    expect(
      (await http().post(`${base}/${asked.requestId}`).set(asAlice).send({ allow: 'yes' })).status,
    ).toBe(400);
    expect(
      await wsRequest(alice, 'permission:reply', {
        sessionId: session.id,
        requestId: 'no such request',
        allow: true,
      }),
    ).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(existsSync(join(session.cwd, 'rest.txt'))).toBe(false);
    expect((await http().get(base).set(asAlice).expect(200)).body.requests).toHaveLength(1);

    expect(
      (
        await http()
          .post(`${base}/${asked.requestId}`)
          .set(asAlice)
          .send({ allow: true })
          .expect(200)
      ).body,
    ).toEqual({ ok: true });
    await eventIn(server.url, session.id, 'result', undefined, asAlice);
    expect(readFileSync(join(session.cwd, 'rest.txt'), 'utf8').trim()).toBe('rest');
    const again = await http()
      .post(`${base}/${asked.requestId}`)
      .set(asAlice)
      .send({ allow: true })
      .expect(404);
    expect(again.body.error).toMatchObject({
      code: 'PERMISSION_REQUEST_NOT_FOUND',
      message: expect.stringContaining(asked.requestId),
    });
    expect((await http().get(base).set(asAlice).expect(200)).body).toEqual({ requests: [] });
    const resolved = await eventIn(
      server.url,
      session.id,
      'permission_resolved',
      undefined,
      asAlice,
    );
    expect(resolved).toMatchObject({ requestId: asked.requestId, allow: true, by: 'client' });
    await http().delete(`/v1/sessions/${session.id}`).set(asAlice).expect(200);
  });

  it('settles a pending request as cancelled when the turn is interrupted or the session ends', async () => {
    const { session, events } = await create('[[bash echo never > never.txt]]', 'ask');
    const first = await nthRequest(events);

    expect(await wsRequest(alice, 'session:interrupt', { sessionId: session.id })).toEqual({
      ok: true,
    });
    await events.waitFor((all) => all.some((e) => e.type === 'permission_resolved'));
    expect(events.ofType('permission_resolved')[0]).toMatchObject({
      requestId: first.requestId,
      allow: false,
      by: 'cancelled',
      reason: expect.stringContaining('interrupted'),
    });
    expect(
      await wsRequest(alice, 'permission:reply', {
        sessionId: session.id,
        requestId: first.requestId,
        allow: true,
      }),
    ).toMatchObject({ ok: false, error: { code: 'PERMISSION_REQUEST_NOT_FOUND' } });
    await events.waitForResults(1);

    // The next turn asks again; ending the session settles that request too.
    await wsRequest(alice, 'session:input', {
      sessionId: session.id,
      text: '[[bash echo never2 > never2.txt]]',
    });
    const second = await nthRequest(events, 2);
    await wsRequest(alice, 'session:terminate', { sessionId: session.id });
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'terminated'));
    const resolved = events.ofType('permission_resolved');
    expect(resolved[1]).toMatchObject({
      requestId: second.requestId,
      allow: false,
      by: 'cancelled',
      reason: 'session terminated (terminated by client)',
    });
    // Each request settled exactly once, and no tool ran.
    expect(resolved).toHaveLength(2);
    expect(existsSync(join(session.cwd, 'never.txt'))).toBe(false);
    expect(existsSync(join(session.cwd, 'never2.txt'))).toBe(false);
  });

  it('deny-writes: reads run, a command that writes is denied at once, without asking', async () => {
    const { session, events } = await create('[[bash echo x > w.txt]]', 'deny-writes');
    expect(session.permissions).toBe('deny-writes');
    await events.waitForResults(1);
    const denied = events.ofType('tool_result')[0];
    expect(denied.isError).toBe(true);
    expect(denied.output).toContain('deny-writes');
    expect(existsSync(join(session.cwd, 'w.txt'))).toBe(false);

    await wsRequest(alice, 'session:input', { sessionId: session.id, text: '[[bash ls -a]]' });
    await events.waitForResults(2);
    expect(events.ofType('tool_result')[1]).toMatchObject({ isError: false });
    expect(events.ofType('permission_request')).toEqual([]);
    expect(events.ofType('permission_resolved')).toEqual([]);
    await wsRequest(alice, 'session:terminate', { sessionId: session.id });
  });

  it('bypass: tools run without asking', async () => {
    const { session, events } = await create('[[bash echo by > by.txt]]', 'bypass');
    await events.waitForResults(1);
    expect(readFileSync(join(session.cwd, 'by.txt'), 'utf8').trim()).toBe('by');
    expect(events.ofType('permission_request')).toEqual([]);
    await wsRequest(alice, 'session:terminate', { sessionId: session.id });
  });

  it('refuses a policy the provider cannot enforce, and one that does not exist', async () => {
    const scripted = await request(server.url)
      .post('/v1/sessions')
      .set(asAlice)
      .send({ query: 'hi', provider: 'scripted', permissions: 'ask' })
      .expect(400);
    expect(scripted.body.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: "permissions 'ask' is not enforced by scripted",
    });
    const bogus = await request(server.url)
      .post('/v1/sessions')
      .set(asAlice)
      .send({ query: 'hi', permissions: 'sometimes' })
      .expect(400);
    expect(bogus.body.error.message).toContain('permissions');
  });
});
