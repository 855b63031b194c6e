import { readFileSync } from 'node:fs';
import type { Socket } from 'socket.io-client';
import type { SessionResource } from '@jelmore/contracts';
import { lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { eventually, processesMentioning } from './support/processes';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

describe('session lifecycle with the real Claude Code CLI', () => {
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    server = await startTestServer({ fake: { slowDelayMs: 150 } });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  async function start(query: string) {
    const ack = await wsRequest<{ session: SessionResource }>(socket, 'session:create', { query });
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    const events = new EventCollector(socket, ack.session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: ack.session.id });
    return { session: ack.session, events };
  }

  it('interrupt ends the running turn, and the session takes input again', async () => {
    const { session, events } = await start('[[slow 30]]');
    await events.waitFor((all) => all.filter((e) => e.type === 'assistant').length >= 2);
    expect(await wsRequest(socket, 'session:interrupt', { sessionId: session.id })).toEqual({
      ok: true,
    });
    await events.waitForResults(1, 10_000);
    const result = events.ofType('result')[0];
    expect(result.interrupted).toBe(true);
    expect(events.ofType('assistant').length).toBeLessThan(30);
    expect(events.ofType('error')).toHaveLength(0);
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));

    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: 'after the interrupt',
    });
    await events.waitForResults(2);
    expect(events.ofType('result')[1].text).toContain('after the interrupt');
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('input sent while a turn runs is queued and answered in its own turn', async () => {
    const { session, events } = await start('[[slow 3]]');
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'));
    expect(
      await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'queued one' }),
    ).toEqual({
      ok: true,
    });
    await events.waitForResults(2);
    const results = events.ofType('result');
    expect(results[0].text).toContain('piece 3.');
    expect(results[1].text).toBe('Echo: queued one');
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('suspend ends the agent process; resume continues the same conversation in a new one', async () => {
    const { session, events } = await start('remember the word tangerine');
    await events.waitForResults(1);
    const suspended = await wsRequest<{ session: SessionResource }>(socket, 'session:suspend', {
      sessionId: session.id,
    });
    expect(suspended).toMatchObject({ ok: true, session: { state: 'suspended' } });
    expect(await eventually(() => processesMentioning(session.id).length === 0)).toBe(true);
    const refused = await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'x' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'SESSION_NOT_ACTIVE' } });

    const resumed = await wsRequest<{ session: SessionResource }>(socket, 'session:resume', {
      sessionId: session.id,
    });
    expect(resumed).toMatchObject({ ok: true, session: { state: 'idle' } });
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'which word?' });
    await events.waitForResults(2);
    const request = server.fake
      .agentRequests()
      .find((r) => textOf(lastUserContent(r)).includes('which word?'));
    expect(JSON.stringify(request!.messages)).toContain('remember the word tangerine');
    expect(events.ofType('status').map((s) => s.to)).toEqual([
      'starting',
      'running',
      'idle',
      'suspended',
      'idle',
      'running',
      'idle',
    ]);
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });

  it('reports a directory_changed event when the agent cds, and the next command runs there', async () => {
    const { session, events } = await start('[[bash mkdir -p sub/deeper && cd sub/deeper]]');
    await events.waitForResults(1);
    const change = events.ofType('directory_changed')[0];
    expect(change).toMatchObject({ from: session.cwd, to: `${session.cwd}/sub/deeper` });
    // The CLI's shell really stayed there: a relative write lands in the new directory.
    await wsRequest(socket, 'session:input', {
      sessionId: session.id,
      text: '[[bash pwd > here.txt]]',
    });
    await events.waitForResults(2);
    expect(readFileSync(`${session.cwd}/sub/deeper/here.txt`, 'utf8').trim()).toBe(
      `${session.cwd}/sub/deeper`,
    );
    const after = await wsRequest<{ session: SessionResource }>(socket, 'session:terminate', {
      sessionId: session.id,
    });
    expect(after).toMatchObject({ ok: true, session: { cwd: `${session.cwd}/sub/deeper` } });
  });

  it('reports a cd out of the workspace but does not make it the session cwd', async () => {
    const { session, events } = await start('[[bash cd /tmp]]');
    await events.waitForResults(1);
    expect(events.ofType('directory_changed')[0]).toMatchObject({ from: session.cwd, to: '/tmp' });
    const after = await wsRequest<{ session: SessionResource }>(socket, 'session:terminate', {
      sessionId: session.id,
    });
    expect(after).toMatchObject({ ok: true, session: { cwd: session.cwd } });
  });

  it('an agent killed from outside fails the session with an error event', async () => {
    const { session, events } = await start('[[slow 40]]');
    await events.waitFor((all) => all.some((e) => e.type === 'assistant'));
    const [pid] = processesMentioning(session.id);
    expect(pid).toBeDefined();
    process.kill(pid, 'SIGKILL');
    // Its turn streams for seconds more ([[slow 40]]): `failed` before that is the exit noticed.
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'failed'), 5000);
    expect(events.ofType('result')).toEqual([]);
    expect(events.ofType('error')[0]).toMatchObject({ code: 'AGENT_EXITED' });
    expect(events.ofType('error')[0].message).toContain('SIGKILL');
    // The sandbox's other processes (bwrap, its init) die with the killed one, a moment later.
    expect(await eventually(() => processesMentioning(session.id).length === 0, 5000)).toBe(true);
  });
});
