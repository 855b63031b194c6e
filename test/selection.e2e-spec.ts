import request from 'supertest';
import type { AgentProviderPort, SessionEvent, SessionResource } from '@jelmore/contracts';
import { ProviderRegistry, ProviderSelector, ScriptedProvider } from '@jelmore/providers';
import { FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { waitUntil } from './support/processes';

/** Prometheus text → { 'name{labels}': value } for the samples whose name starts with `prefix`. */
function samples(text: string, prefix: string): Map<string, number> {
  const result = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const at = line.lastIndexOf(' ');
    result.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return result;
}

describe('provider selection, fallback, budgets and metrics', () => {
  const models = new FakeOpenAIServer();
  let server: TestServer;

  beforeAll(async () => {
    const baseUrl = await models.start();
    server = await startTestServer({
      env: {
        // A binary that exists but does not run: claude is unhealthy, and the default provider.
        JELMORE_CLAUDE_BIN: '/bin/false',
        JELMORE_OPENCODE_BASE_URL: baseUrl,
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_SCRIPTED_MAX_CONCURRENT_SESSIONS: '1',
      },
    });
    // The opencode server takes a few seconds to start; selection skips it until then.
    const ready = await waitUntil(
      async () =>
        (await request(server.url).get('/v1/providers/health')).body.opencode?.healthy === true,
      30_000,
    );
    expect(ready).toBe(true);
  });

  afterAll(async () => {
    await server?.close();
    await models.stop();
  });

  const http = () => request(server.url);
  const events = async (id: string) =>
    (await http().get(`/v1/sessions/${id}/events`)).body.events as SessionEvent[];
  const idle = (id: string) =>
    waitUntil(async () => (await http().get(`/v1/sessions/${id}`)).body.state === 'idle', 60_000);

  it('falls back from an unhealthy claude to opencode for a streaming session, and says so', async () => {
    const health = (await http().get('/v1/providers/health').expect(200)).body;
    expect(health.claude).toMatchObject({ healthy: false, circuit: 'closed' });
    const created = await http()
      .post('/v1/sessions')
      .send({ query: 'fall back please', requirements: { capabilities: ['streaming'] } })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session).toMatchObject({ provider: 'opencode', model: 'deepseek-chat' });
    const [first] = await events(session.id);
    expect(first).toMatchObject({ type: 'status', from: null, to: 'starting' });
    expect(first.type === 'status' && first.reason).toMatch(
      /claude skipped \(.*\/bin\/false.*\).*fell back to opencode|fell back to opencode.*claude skipped/,
    );
    expect(await idle(session.id)).toBe(true);
    await http().delete(`/v1/sessions/${session.id}`).expect(200);
  });

  it('a model alias picks its provider; unmet capabilities and explicit unhealthy providers are refused', async () => {
    const byModel = await http()
      .post('/v1/sessions')
      .send({ query: 'q', model: 'qwen-2.5-coder' })
      .expect(201);
    expect(byModel.body).toMatchObject({
      provider: 'opencode',
      model: 'qwen2.5-coder-32b-instruct',
    });
    await http().delete(`/v1/sessions/${byModel.body.id}`).expect(200);

    // No provider takes input mid-turn.
    const steer = await http()
      .post('/v1/sessions')
      .send({ query: 'q', requirements: { capabilities: ['steer'] } })
      .expect(503);
    expect(steer.body.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
    expect(steer.body.error.message).toContain('steer');

    const explicit = await http()
      .post('/v1/sessions')
      .send({ query: 'q', provider: 'claude' })
      .expect(503);
    expect(explicit.body.error.message).toContain('/bin/false');

    const bad = await http()
      .post('/v1/sessions')
      .send({ query: 'q', requirements: { capabilities: ['telepathy'] } })
      .expect(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('holds capacity limits; a provider registered at run time and a custom selector take part', async () => {
    const registry = server.app.get(ProviderRegistry);
    const scripted = server.app.get(ScriptedProvider);
    // Scripted agents under another name, open to automatic selection, sharing scripted's capacity (1).
    const echo: AgentProviderPort = {
      name: 'echo',
      get capabilities() {
        return scripted.capabilities;
      },
      models: () => scripted.models(),
      resolveModel: (model) => scripted.resolveModel(model),
      createSession: (config) => scripted.createSession(config),
      healthCheck: () => scripted.healthCheck(),
      metrics: () => scripted.metrics(),
    };
    registry.register('echo', () => echo);
    const selector = server.app.get(ProviderSelector);
    selector.setSelectionAlgorithm((candidates) =>
      candidates.some((c) => c.provider.name === 'echo') ? 'echo' : null,
    );
    try {
      const first = await http().post('/v1/sessions').send({ query: '[[rate 0]] hi' }).expect(201);
      expect(first.body.provider).toBe('echo');
      // Full now: the next session falls back to the next candidate and says why.
      const second = await http().post('/v1/sessions').send({ query: 'next' }).expect(201);
      expect(second.body.provider).toBe('opencode');
      const [status] = await events(second.body.id);
      expect(status.type === 'status' && status.reason).toContain('echo unavailable');
      expect(status.type === 'status' && status.reason).toContain('at capacity (1/1');
      // Naming a full provider gives its own error.
      const full = await http()
        .post('/v1/sessions')
        .send({ query: 'x', provider: 'scripted' })
        .expect(503);
      expect(full.body.error.message).toContain('at capacity (1/1');
      await http().delete(`/v1/sessions/${first.body.id}`).expect(200);
      await http().delete(`/v1/sessions/${second.body.id}`).expect(200);
    } finally {
      selector.setSelectionAlgorithm(null);
    }
    // Without the custom selector: the default provider (claude) is unhealthy, opencode comes next.
    const builtIn = await http().post('/v1/sessions').send({ query: 'q' }).expect(201);
    expect(builtIn.body.provider).toBe('opencode');
    await http().delete(`/v1/sessions/${builtIn.body.id}`).expect(200);
  });

  it('stops at a session budget with BUDGET_EXCEEDED naming limit and spend, and refuses more input', async () => {
    const created = await http()
      .post('/v1/sessions')
      .send({ query: 'costly', provider: 'opencode', maxBudgetUsd: 0.0001 })
      .expect(201);
    const id = (created.body as SessionResource).id;
    expect(await idle(id)).toBe(true);
    const error = (await events(id)).find((e) => e.type === 'error');
    expect(error).toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(error?.type === 'error' && error.message).toMatch(
      /session budget of \$0\.0001 is reached: \$0\.00049 spent/,
    );
    const refused = await http()
      .post(`/v1/sessions/${id}/input`)
      .send({ text: 'more' })
      .expect(402);
    expect(refused.body.error).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      details: { budget: 'session', limitUsd: 0.0001, spentUsd: 0.00049 },
    });
    await http().delete(`/v1/sessions/${id}`).expect(200);
  });

  it('exposes Prometheus metrics whose counters move as sessions run', async () => {
    const scrape = async () => (await http().get('/metrics').expect(200)).text;
    const before = samples(await scrape(), 'jelmore_');
    const created = await http()
      .post('/v1/sessions')
      .send({ query: 'count me', provider: 'opencode' })
      .expect(201);
    expect(await idle(created.body.id)).toBe(true);
    await http().delete(`/v1/sessions/${created.body.id}`).expect(200);
    const text = await scrape();
    expect(text).toContain('# TYPE jelmore_events_total counter');
    const after = samples(text, 'jelmore_');
    const moved = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(moved('jelmore_sessions_created_total{provider="opencode"}')).toBe(1);
    expect(moved('jelmore_sessions_ended_total{provider="opencode",outcome="terminated"}')).toBe(1);
    expect(moved('jelmore_events_total{type="result"}')).toBe(1);
    expect(
      moved('jelmore_tokens_total{provider="opencode",model="deepseek-chat",direction="input"}'),
    ).toBe(1000);
    expect(moved('jelmore_cost_usd_total{provider="opencode",model="deepseek-chat"}')).toBeCloseTo(
      0.00049,
      12,
    );
    expect(moved('jelmore_session_first_event_seconds_count{provider="opencode"}')).toBe(1);
    expect(moved('jelmore_session_startup_seconds_count{provider="opencode"}')).toBe(1);
    expect(after.get('jelmore_provider_healthy{provider="claude"}')).toBe(0);
    expect(after.get('jelmore_provider_healthy{provider="opencode"}')).toBe(1);
    expect(after.get('jelmore_provider_circuit_state{provider="opencode"}')).toBe(0);
    expect(after.has('jelmore_process_resident_memory_bytes')).toBe(true);
  });
});
