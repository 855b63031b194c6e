import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { ProviderSelector } from '@jelmore/providers';
import { FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { waitUntil } from './support/processes';

type Http = () => request.Agent;

function helpers(http: Http) {
  const events = async (id: string) =>
    (await http().get(`/v1/sessions/${id}/events`).expect(200)).body.events as SessionEvent[];
  const settled = (id: string) =>
    waitUntil(async () => {
      const { state } = (await http().get(`/v1/sessions/${id}`)).body as SessionResource;
      return state === 'idle' || state === 'failed';
    }, 60_000);
  return { events, settled };
}

/** A turn of several model calls (tool, tool, ... text), stopped by a budget after its first call. */
async function expectStoppedMidTurn(
  http: Http,
  provider: 'claude' | 'opencode',
  modelCalls: () => number,
): Promise<void> {
  const { events, settled } = helpers(http);
  const created = await http()
    .post('/v1/sessions')
    .send({ query: 'Work in steps. [[steps 6]]', provider, maxBudgetUsd: 0.0001 })
    .expect(201);
  const id = (created.body as SessionResource).id;
  expect(await settled(id)).toBe(true);
  const log = await events(id);
  const errors = log.filter((e) => e.type === 'error');
  expect(errors).toEqual([
    expect.objectContaining({
      code: 'BUDGET_EXCEEDED',
      message: expect.stringMatching(/session budget of \$0\.0001 is reached/),
    }),
  ]);
  // The budget error came between two model calls, before the turn's result, and the turn was cut short:
  // the full turn is 7 model calls (6 tool calls, then the answer).
  const at = (type: string) => log.findIndex((e) => e.type === type);
  expect(at('error')).toBeLessThan(at('result'));
  const result = log.find((e) => e.type === 'result');
  expect(result).toMatchObject({ interrupted: true });
  expect(log.filter((e) => e.type === 'tool_use').length).toBeLessThan(6);
  expect(modelCalls()).toBeLessThan(7);
  expect(log.some((e) => e.type === 'assistant' && e.text.includes('done'))).toBe(false);
  const refused = await http().post(`/v1/sessions/${id}/input`).send({ text: 'more' }).expect(402);
  expect(refused.body.error).toMatchObject({
    code: 'BUDGET_EXCEEDED',
    details: { budget: 'session', limitUsd: 0.0001 },
  });
  await http().delete(`/v1/sessions/${id}`).expect(200);
}

describe('a session budget stops a turn between two model calls', () => {
  it('claude: priced from each call as it ends, settled by the CLI figure', async () => {
    const server = await startTestServer();
    try {
      const http = () => request(server.url);
      const calls = () =>
        server.fake
          .agentRequests()
          .filter((r) => JSON.stringify(r.messages).includes('[[steps 6]]')).length;
      await expectStoppedMidTurn(http, 'claude', calls);
      // Estimates are reported live, flagged; the CLI's own figure for the turn is what the session counts.
      const [session] = (await http().get('/v1/sessions').expect(200)).body as SessionResource[];
      const log = await helpers(http).events(session.id);
      const usage = log.filter((e) => e.type === 'usage');
      expect(usage[0]).toMatchObject({ estimated: true });
      const counted = usage.filter((u) => u.type === 'usage' && !u.estimated);
      expect(counted).toHaveLength(1);
      expect(session.usage.costUsd).toBe(counted[0].type === 'usage' && counted[0].costUsd);
    } finally {
      await server.close();
    }
  });

  it('opencode: priced per step (step-finish)', async () => {
    const models = new FakeOpenAIServer();
    const baseUrl = await models.start();
    const server = await startTestServer({ env: { JELMORE_OPENCODE_BASE_URL: baseUrl } });
    try {
      const http = () => request(server.url);
      expect(
        await waitUntil(
          async () => (await http().get('/v1/providers/health')).body.opencode?.healthy === true,
          30_000,
        ),
      ).toBe(true);
      const calls = () =>
        models.requests.filter((r) => JSON.stringify(r.messages).includes('[[steps 6]]')).length;
      await expectStoppedMidTurn(http, 'opencode', calls);
    } finally {
      await server.close();
      await models.stop();
    }
  });
});

describe('fallback when the chosen provider crashes at start', () => {
  const models = new FakeOpenAIServer();
  let server: TestServer;

  const binDir = mkdtempSync(join(tmpdir(), 'jelmore-crashing-claude-'));

  beforeAll(async () => {
    const baseUrl = await models.start();
    // A claude binary that passes the health check (--version) but dies as soon as a session starts.
    const bin = join(binDir, 'claude');
    writeFileSync(
      bin,
      '#!/bin/sh\nif [ "$1" = "--version" ]; then echo "2.1.332 (Claude Code)"; exit 0; fi\n' +
        'echo "boom: cannot start" >&2\nexit 3\n',
    );
    chmodSync(bin, 0o755);
    server = await startTestServer({
      env: { JELMORE_OPENCODE_BASE_URL: baseUrl, JELMORE_CLAUDE_BIN: bin },
    });
    const ready = await waitUntil(async () => {
      const health = (await request(server.url).get('/v1/providers/health')).body;
      return health.opencode?.healthy === true && health.claude?.healthy === true;
    }, 30_000);
    if (!ready) {
      const health = (await request(server.url).get('/v1/providers/health')).body as unknown;
      throw new Error(`providers not healthy: ${JSON.stringify(health)}`);
    }
  });

  afterAll(async () => {
    await server?.close();
    await models.stop();
    rmSync(binDir, { recursive: true, force: true });
  });

  it('hands the session to the next candidate, and its status event names what was tried and why', async () => {
    const http = () => request(server.url);
    const { events, settled } = helpers(http);
    const created = await http()
      .post('/v1/sessions')
      .send({ query: 'survive a crash', requirements: { capabilities: ['streaming'] } })
      .expect(201);
    const id = (created.body as SessionResource).id;
    expect(await settled(id)).toBe(true);
    const session = (await http().get(`/v1/sessions/${id}`).expect(200)).body as SessionResource;
    expect(session).toMatchObject({ provider: 'opencode', model: 'deepseek-chat', state: 'idle' });
    const log = await events(id);
    const fellBack = log.find(
      (e) => e.type === 'status' && e.to === 'starting' && e.reason?.includes('fell back'),
    );
    expect(fellBack).toMatchObject({
      reason: expect.stringMatching(
        /fell back to opencode: .*claude failed at start \(.*boom: cannot start/,
      ),
    });
    // The crash is on record before the fallback; the answer came from opencode.
    expect(log.find((e) => e.type === 'error')).toMatchObject({ code: 'AGENT_EXITED' });
    expect(log.find((e) => e.type === 'result')).toMatchObject({
      text: expect.stringContaining('Echo: survive a crash'),
    });
    expect(log.filter((e) => e.type === 'status').map((e) => e.type === 'status' && e.to)).toEqual([
      'starting',
      'running',
      'starting',
      'running',
      'idle',
    ]);
    // The circuit saw claude's failure.
    expect(server.app.get(ProviderSelector).circuit('claude').consecutiveFailures).toBe(1);
    await http().delete(`/v1/sessions/${id}`).expect(200);
  });

  it('an explicitly named provider that crashes at start fails the session, with no fallback', async () => {
    const http = () => request(server.url);
    const { events, settled } = helpers(http);
    const created = await http()
      .post('/v1/sessions')
      .send({ query: 'only claude', provider: 'claude' })
      .expect(201);
    const id = (created.body as SessionResource).id;
    expect(await settled(id)).toBe(true);
    const session = (await http().get(`/v1/sessions/${id}`).expect(200)).body as SessionResource;
    expect(session).toMatchObject({ provider: 'claude', state: 'failed' });
    expect((await events(id)).find((e) => e.type === 'error')).toMatchObject({
      code: 'AGENT_EXITED',
      message: expect.stringContaining('boom: cannot start'),
    });
  });
});
