import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { agentsMentioning, eventually, processesMentioning, waitUntil } from './support/processes';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

/** One Prometheus sample of /metrics, e.g. ('jelmore_warm_pool_hits_total', 'provider="claude"'). */
async function sample(server: TestServer, name: string, labels: string): Promise<number> {
  const text = (await request(server.url).get('/metrics').expect(200)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

describe('Claude warm pool (real CLI, fake model API)', () => {
  // Our own directory, kept by close(), so the workspace can be looked at after shutdown.
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-warm-e2e-'));
  const workspace = join(dir, 'workspace');
  let server: TestServer;
  let closed = false;
  let socket: Socket;
  /** Sessions created here; every id that had a process here, for the check that none is left. */
  const sessionIds = new Set<string>();
  const seenIds = new Set<string>();

  beforeAll(async () => {
    server = await startTestServer({ dir, env: { JELMORE_CLAUDE_WARM_POOL_SIZE: '1' } });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    if (!closed) await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The id and pid of the process waiting in the pool: the one in a workspace directory no session has. */
  async function warmProcess(): Promise<{ id: string; pid: number }> {
    expect(
      await waitUntil(
        async () => (await sample(server, 'jelmore_warm_pool_ready', 'provider="claude"')) === 1,
        30_000,
      ),
    ).toBe(true);
    const waiting = readdirSync(workspace)
      .filter((id) => !sessionIds.has(id))
      .map((id) => ({ id, pids: agentsMentioning(`--session-id ${id}`) }))
      .filter((w) => w.pids.length > 0);
    expect(waiting).toHaveLength(1);
    seenIds.add(waiting[0].id);
    return { id: waiting[0].id, pid: waiting[0].pids[0] };
  }

  async function start(
    payload: object,
  ): Promise<{ session: SessionResource; events: EventCollector }> {
    const ack = await wsRequest<{ session: SessionResource }>(socket, 'session:create', payload);
    if (!ack.ok) throw new Error(`create failed: ${JSON.stringify(ack.error)}`);
    sessionIds.add(ack.session.id);
    seenIds.add(ack.session.id);
    const events = new EventCollector(socket, ack.session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: ack.session.id });
    return { session: ack.session, events };
  }

  const requestsContaining = (text: string) =>
    server.fake.agentRequests().filter((r) => textOf(lastUserContent(r)).includes(text));

  it('a session of the default settings runs on the process started before it, under its id', async () => {
    const warm = await warmProcess();
    const { session, events } = await start({ query: 'warm hello' });

    // The session took the pre-started process: its id, its directory, its pid.
    expect(session).toMatchObject({ id: warm.id, provider: 'claude', model: 'claude-sonnet-5-5' });
    expect(session.cwd).toBe(join(workspace, warm.id));
    expect(agentsMentioning(`--session-id ${warm.id}`)).toEqual([warm.pid]);
    await events.waitForResults(1);
    expect(events.ofType('result')[0].text).toBe('Echo: warm hello');
    expect(events.ofType('status').map((s) => s.to)).toEqual(['starting', 'running', 'idle']);
    expect(await sample(server, 'jelmore_warm_pool_hits_total', 'provider="claude"')).toBe(1);

    // Same process for the next turn, with the conversation so far.
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'and again' });
    await events.waitForResults(2);
    expect(agentsMentioning(`--session-id ${warm.id}`)).toEqual([warm.pid]);
    expect(JSON.stringify(requestsContaining('and again')[0].messages)).toContain('warm hello');

    // The CLI kept its transcript where --resume looks for it: suspend and resume keep the history.
    await wsRequest(socket, 'session:suspend', { sessionId: session.id });
    expect(await eventually(() => !processesMentioning(warm.id).includes(warm.pid))).toBe(true);
    expect(await wsRequest(socket, 'session:resume', { sessionId: session.id })).toMatchObject({
      ok: true,
    });
    await wsRequest(socket, 'session:input', { sessionId: session.id, text: 'after resume' });
    await events.waitForResults(3);
    expect(events.ofType('result')[2].text).toBe('Echo: after resume');
    expect(JSON.stringify(requestsContaining('after resume')[0].messages)).toContain('warm hello');

    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
    expect(await eventually(() => processesMentioning(session.id).length === 0)).toBe(true);
  });

  it('a session of another model or with its own cwd starts cold; the waiting process stays', async () => {
    const warm = await warmProcess();
    const missesBefore = await sample(
      server,
      'jelmore_warm_pool_misses_total',
      'provider="claude",reason="model"',
    );

    const opus = await start({ query: 'cold opus', model: 'opus' });
    expect(opus.session.id).not.toBe(warm.id);
    expect(opus.session.model).toBe('claude-opus-5-5');
    await opus.events.waitForResults(1);
    expect(opus.events.ofType('result')[0].text).toBe('Echo: cold opus');
    expect(requestsContaining('cold opus')[0].model).toBe('claude-opus-5-5');

    mkdirSync(join(workspace, 'project'));
    const own = await start({ query: 'cold cwd', cwd: 'project' });
    expect(own.session.cwd).toBe(join(workspace, 'project'));
    expect(own.session.id).not.toBe(warm.id);
    await own.events.waitForResults(1);
    expect(own.events.ofType('result')[0].text).toBe('Echo: cold cwd');

    expect(
      await sample(server, 'jelmore_warm_pool_misses_total', 'provider="claude",reason="model"'),
    ).toBe(missesBefore + 1);
    expect(
      await sample(server, 'jelmore_warm_pool_misses_total', 'provider="claude",reason="cwd"'),
    ).toBe(1);
    expect(await sample(server, 'jelmore_warm_pool_hits_total', 'provider="claude"')).toBe(1);
    // Still waiting, untouched, for the next default session.
    expect(agentsMentioning(`--session-id ${warm.id}`)).toEqual([warm.pid]);
    expect(await sample(server, 'jelmore_warm_pool_ready', 'provider="claude"')).toBe(1);

    for (const { session } of [opus, own]) {
      await wsRequest(socket, 'session:terminate', { sessionId: session.id });
    }
  });

  it('leaves no agent process once its sessions end and the server shuts down', async () => {
    const warm = await warmProcess();
    expect(agentsMentioning(warm.id)).toEqual([warm.pid]);
    socket.disconnect();
    closed = true;
    await server.close();
    for (const id of seenIds) expect(processesMentioning(id)).toEqual([]);
    // The unused process's empty directory went with it; the sessions' stay.
    const left = readdirSync(workspace);
    expect(left).not.toContain(warm.id);
    expect(left.length).toBeGreaterThanOrEqual(3);
  });
});
