import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { ResultEvent, SessionResource } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { makeRepository } from './support/git';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

const QUESTION = 'What does README.md say?';

/**
 * The response cache with the real Claude CLI against the fake model API, which counts the requests:
 * a read-only session's turn is replayed for an identical one on the same files, a changed file misses.
 */
describe('Response cache (real Claude CLI, fake model API)', () => {
  let server: TestServer;
  let socket: Socket;
  let repo: string;

  beforeAll(async () => {
    server = await startTestServer();
    socket = await connect(server.url);
    repo = join(server.dir, 'workspace', 'repo');
    makeRepository(repo, { 'README.md': '# demo\n' });
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  const api = () => request(server.url);
  const modelCalls = () => server.fake.agentRequests().length;

  /** A cached read-only session asking `query` in the repository: its resource, result, and how long. */
  async function ask(
    query: string,
  ): Promise<{ session: SessionResource; result: ResultEvent; ms: number }> {
    const started = performance.now();
    const res = await api()
      .post('/v1/sessions')
      .send({ query, cwd: 'repo', permissions: 'deny-writes', cache: true })
      .expect(201);
    const session = res.body as SessionResource;
    const events = new EventCollector(socket, session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: session.id, after: 0 });
    await events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));
    const ms = performance.now() - started;
    return { session, result: events.ofType('result')[0], ms };
  }

  it('replays an identical turn without a model call, and misses once a file changed', async () => {
    const before = modelCalls();
    const first = await ask(QUESTION);
    expect(first.session.cache).toBe(true);
    expect(first.result.cached).toBeUndefined();
    expect(first.result.text).toContain('Echo: What does README.md say?');
    const afterFirst = modelCalls();
    expect(afterFirst).toBeGreaterThan(before);

    const hit = await ask(QUESTION);
    expect(modelCalls()).toBe(afterFirst);
    expect(hit.result).toMatchObject({
      text: first.result.text,
      cached: true,
      usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    });
    const replay = await api().get(`/v1/sessions/${hit.session.id}/events`).expect(200);
    const types = (replay.body as { events: { type: string }[] }).events.map((e) => e.type);
    expect(types.indexOf('user')).toBeLessThan(types.indexOf('result'));
    const hitSession = await api().get(`/v1/sessions/${hit.session.id}`).expect(200);
    expect(hitSession.body).toMatchObject({ state: 'idle', usage: { costUsd: 0 } });

    // The replayed session's agent never ran: its next turn starts it, and the model is asked.
    const hitEvents = new EventCollector(socket, hit.session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: hit.session.id, after: 0 });
    await api().post(`/v1/sessions/${hit.session.id}/input`).send({ text: 'And now?' }).expect(202);
    await hitEvents.waitFor((all) => all.filter((e) => e.type === 'result').length >= 2);
    expect(hitEvents.ofType('result')[1]).toMatchObject({
      text: expect.stringContaining('And now?'),
    });
    expect(hitEvents.ofType('result')[1].cached).toBeUndefined();
    const afterFollowUp = modelCalls();
    expect(afterFollowUp).toBeGreaterThan(afterFirst);

    writeFileSync(join(repo, 'README.md'), '# demo, changed\n');
    const miss = await ask(QUESTION);
    expect(miss.result.cached).toBeUndefined();
    expect(modelCalls()).toBeGreaterThan(afterFollowUp);
    // Recorded on the changed files: a hit again, and a session whose agent never started ends cleanly.
    const calls = modelCalls();
    const hitAgain = await ask(QUESTION);
    expect(hitAgain.result.cached).toBe(true);
    expect(modelCalls()).toBe(calls);
    const ended = await api().delete(`/v1/sessions/${hitAgain.session.id}`).expect(200);
    expect((ended.body as SessionResource).state).toBe('terminated');

    const metrics = (await api().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^jelmore_cache_hits_total 2$/m);
    // The first turn, the follow-up and the changed file's.
    expect(metrics).toMatch(/^jelmore_cache_misses_total 3$/m);
    expect(metrics).toMatch(/^jelmore_cache_saved_usd_total 0\.\d*[1-9]/m);
    // A timing is reported, never asserted: the hit against the real turns (CLI start + model).
    console.log(
      `response cache: real turn ${first.ms.toFixed(0)} ms, changed-file miss ${miss.ms.toFixed(0)} ms, hit ${hit.ms.toFixed(0)} ms`,
    );
  });

  it('refuses cache: true on a session that may write, over REST and Socket.IO', async () => {
    const calls = modelCalls();
    for (const permissions of [undefined, 'bypass', 'ask']) {
      const res = await api()
        .post('/v1/sessions')
        .send({ query: QUESTION, cwd: 'repo', cache: true, permissions })
        .expect(400);
      expect((res.body as { error: { code: string } }).error.code).toBe('CACHE_NEEDS_READ_ONLY');
    }
    const ack = await wsRequest(socket, 'session:create', { query: QUESTION, cache: true });
    expect(ack).toMatchObject({ ok: false, error: { code: 'CACHE_NEEDS_READ_ONLY' } });
    expect(modelCalls()).toBe(calls);
  });
});
