import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type {
  ExperimentReport,
  SessionEvent,
  SessionResource,
  StatusEvent,
} from '@jelmore/contracts';
import { Test } from '@nestjs/testing';
import { ComplexityRouter } from '@jelmore/sessions';
import { AppModule } from '../apps/server/src/app.module';
import { ConfigError, loadConfig } from '../apps/server/src/config/jelmore.config';
import { startTestServer, TestServer } from './support/app';
import { waitUntil } from './support/processes';
import { connect, request as wsRequest } from './support/ws-client';

/** Prometheus text → the value of the sample `name{labels}`, 0 when absent. */
const sample = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

describe('routing by complexity (real Claude Code CLI, fake Anthropic API)', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_ROUTING: JSON.stringify({
          complexity: { tiers: { simple: 'haiku', standard: 'sonnet', complex: 'opus' } },
        }),
      },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  const http = () => request(server.url);
  /** Creates a session, waits for its first turn, ends it: the session, its events, the models asked. */
  async function run(query: string, extra: object = {}) {
    const session = (
      await http()
        .post('/v1/sessions')
        .send({ query, ...extra })
        .expect(201)
    ).body as SessionResource;
    const idle = await waitUntil(
      async () => (await http().get(`/v1/sessions/${session.id}`)).body.state === 'idle',
      60_000,
    );
    expect(idle).toBe(true);
    const events = (await http().get(`/v1/sessions/${session.id}/events`).expect(200)).body
      .events as SessionEvent[];
    const ended = (await http().delete(`/v1/sessions/${session.id}`).expect(200))
      .body as SessionResource;
    const models = server.fake
      .agentRequests()
      .filter((r) => JSON.stringify(r.messages).includes(query.slice(0, 40)))
      .map((r) => r.model);
    return { session, events, ended, models };
  }

  it('gives a one-line question haiku and a multi-file refactor opus: the model the fake API sees', async () => {
    const question = await run('What is a closure in JavaScript?');
    expect(question.session).toMatchObject({
      provider: 'claude',
      model: 'claude-haiku-5-5',
      routing: { tier: 'simple', score: -2, reason: 'a question (-2)' },
    });
    expect(new Set(question.models)).toEqual(new Set(['claude-haiku-5-5']));
    const first = question.events[0] as StatusEvent;
    expect(first).toMatchObject({
      type: 'status',
      from: null,
      to: 'starting',
      routing: { tier: 'simple', score: -2 },
    });
    // Only the first status event says it.
    expect(question.events.filter((e) => e.type === 'status' && e.routing)).toHaveLength(1);
    expect(question.ended.routing?.tier).toBe('simple');

    const refactor = await run(
      'Refactor the session store across src/store/a.ts, src/store/b.ts and src/store/c.ts, then migrate every caller to the new API',
    );
    expect(refactor.session).toMatchObject({
      model: 'claude-opus-5-5',
      routing: { tier: 'complex', score: 6, reason: 'many files (+2), refactor, migrate (+4)' },
    });
    expect(refactor.models.length).toBeGreaterThan(0);
    expect(new Set(refactor.models)).toEqual(new Set(['claude-opus-5-5']));

    // A named model is never routed.
    const named = await run('What is a monad, in one line?', { model: 'sonnet' });
    expect(named.session.model).toBe('claude-sonnet-5-5');
    expect(named.session.routing).toBeUndefined();

    const metrics = (await http().get('/metrics').expect(200)).text;
    expect(sample(metrics, 'jelmore_sessions_routed_total{tier="simple"}')).toBe(1);
    expect(sample(metrics, 'jelmore_sessions_routed_total{tier="complex"}')).toBe(1);
  });

  it("a classifier that throws or answers nonsense: the provider's default model, and the session starts", async () => {
    const router = server.app.get(ComplexityRouter);
    try {
      router.setClassifier(() => {
        throw new Error('classifier down');
      });
      const failed = await run('Refactor everything across the codebase now');
      expect(failed.session).toMatchObject({
        model: 'claude-sonnet-5-5',
        routing: {
          tier: 'default',
          reason: 'the classifier failed; the default model',
        },
      });
      expect(new Set(failed.models)).toEqual(new Set(['claude-sonnet-5-5']));

      router.setClassifier(() => ({ tier: 'enormous', score: 99 }));
      const nonsense = await run('What time is it in Lisbon?');
      expect(nonsense.session.model).toBe('claude-sonnet-5-5');
      expect(nonsense.session.routing?.reason).toMatch(/^the classifier answered tier "enormous"/);

      router.setClassifier(({ text }) => ({
        tier: text.includes('Lisbon') ? 'complex' : 'simple',
      }));
      const classified = await run('Is it sunny in Lisbon?');
      expect(classified.session).toMatchObject({
        model: 'claude-opus-5-5',
        routing: { tier: 'complex' },
      });
    } finally {
      router.setClassifier(null);
    }
    const metrics = (await http().get('/metrics').expect(200)).text;
    expect(sample(metrics, 'jelmore_sessions_routed_total{tier="default"}')).toBe(2);
  });
});

describe('A/B experiments (scripted provider, 200 owners)', () => {
  const OWNERS = Array.from({ length: 200 }, (_, i) => `user-${String(i).padStart(3, '0')}`);
  const keyOf = (owner: string) => `${owner}-key-0123456789abcdef`;
  const ADMIN = 'ops-key-0123456789abcdef';
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-traffic-'));
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_API_KEYS: [...OWNERS.map((o) => `${o}:${keyOf(o)}`), `ops:${ADMIN}:admin`].join(
          ',',
        ),
        // The admin key polls many sessions.
        JELMORE_RATE_LIMIT_BURST: '100000',
        JELMORE_RATE_LIMIT_PER_MINUTE: '100000',
        JELMORE_CONFIG: configFile({
          experiments: {
            split: {
              arms: [
                { name: 'in-server', provider: 'scripted', model: 'scripted', weight: 70 },
                { name: 'process', provider: 'scripted', model: 'scripted-process', weight: 30 },
              ],
              sticky: 'owner',
            },
            echoes: {
              arms: [{ provider: 'scripted', weight: 1 }],
              sticky: 'session',
              filter: { owners: ['user-000'], query: '^echo' },
            },
          },
        }),
      },
    });
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function configFile(content: object): string {
    const path = join(dir, 'jelmore.json');
    writeFileSync(path, JSON.stringify(content));
    return path;
  }

  const http = () => request(server.url);
  const create = async (owner: string, body: object) =>
    (
      await http()
        .post('/v1/sessions')
        .set(bearer(keyOf(owner)))
        .send(body)
        .expect(201)
    ).body as SessionResource;
  /** Waits for the session's first turn to end, then ends it. */
  const finish = async (session: SessionResource) => {
    const idle = await waitUntil(
      async () =>
        (await http().get(`/v1/sessions/${session.id}`).set(bearer(ADMIN))).body.state === 'idle',
      30_000,
    );
    expect(idle).toBe(true);
    await http().delete(`/v1/sessions/${session.id}`).set(bearer(ADMIN)).expect(200);
  };

  it('splits 200 owners within 5% of the weights, each owner always on its arm, and reports each arm', async () => {
    const armOf = new Map<string, string>();
    const queue = [...OWNERS];
    // A few at a time: `process` sessions each run an agent process.
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let owner = queue.shift(); owner; owner = queue.shift()) {
          const session = await create(owner, { query: '[[rate 0]] hi', experiment: 'split' });
          expect(session.provider).toBe('scripted');
          expect(session.model).toBe(
            session.experiment?.arm === 'process' ? 'scripted-process' : 'scripted',
          );
          armOf.set(owner, session.experiment!.arm);
          await finish(session);
        }
      }),
    );
    const inServer = [...armOf.values()].filter((arm) => arm === 'in-server').length;
    expect(Math.abs(inServer / 200 - 0.7)).toBeLessThanOrEqual(0.05);
    expect(armOf.size).toBe(200);

    // Sticky per owner: the same arm again, whatever the session names.
    for (const owner of OWNERS.slice(0, 10)) {
      const again = await create(owner, {
        query: '[[rate 0]] again',
        experiment: 'split',
        model: 'scripted',
      });
      expect(again.experiment).toEqual({ name: 'split', arm: armOf.get(owner) });
      await finish(again);
    }

    const report = (await http().get('/v1/experiments/split').set(bearer(ADMIN)).expect(200))
      .body as ExperimentReport;
    const againInServer = OWNERS.slice(0, 10).filter((o) => armOf.get(o) === 'in-server').length;
    expect(report).toMatchObject({
      name: 'split',
      sticky: 'owner',
      arms: [
        {
          name: 'in-server',
          provider: 'scripted',
          model: 'scripted',
          weight: 70,
          sessions: inServer + againInServer,
          active: 0,
          turns: inServer + againInServer,
          failures: 0,
          usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
        },
        {
          name: 'process',
          sessions: 200 - inServer + 10 - againInServer,
          turns: 200 - inServer + 10 - againInServer,
          failures: 0,
        },
      ],
    });
    for (const arm of report.arms) expect(arm.medianTurnMs).toEqual(expect.any(Number));

    // A key sees its own sessions' figures only.
    const own = (
      await http()
        .get('/v1/experiments/split')
        .set(bearer(keyOf('user-000')))
        .expect(200)
    ).body as ExperimentReport;
    expect(own.arms.reduce((n, arm) => n + arm.sessions, 0)).toBe(2);

    const metrics = (await http().get('/metrics').set(bearer(ADMIN)).expect(200)).text;
    const labels = (arm: string) => `provider="scripted",experiment="split",arm="${arm}"`;
    expect(sample(metrics, `jelmore_sessions_created_total{${labels('in-server')}}`)).toBe(
      inServer + againInServer,
    );
    expect(
      sample(
        metrics,
        `jelmore_sessions_ended_total{provider="scripted",outcome="terminated",experiment="split",arm="process"}`,
      ),
    ).toBe(200 - inServer + 10 - againInServer);
    expect(
      sample(
        metrics,
        `jelmore_turns_total{provider="scripted",model="scripted-process",outcome="completed",experiment="split",arm="process"}`,
      ),
    ).toBe(200 - inServer + 10 - againInServer);
    expect(
      sample(
        metrics,
        `jelmore_turn_duration_seconds_count{provider="scripted",model="scripted",experiment="split",arm="in-server"}`,
      ),
    ).toBe(inServer + againInServer);
  }, 300_000);

  it("a filter's sessions take part unasked; an unknown experiment is 400 EXPERIMENT_NOT_FOUND, over REST and Socket.IO", async () => {
    const echo = await create('user-000', { query: 'echo [[rate 0]] me' });
    expect(echo.experiment).toEqual({ name: 'echoes', arm: 'scripted' });
    const first = (await http().get(`/v1/sessions/${echo.id}/events`).set(bearer(ADMIN))).body
      .events[0] as StatusEvent;
    expect(first.experiment).toEqual({ name: 'echoes', arm: 'scripted' });
    await finish(echo);
    // Another owner's, or one that names its provider, does not.
    const other = await create('user-001', { query: 'echo [[rate 0]] me', provider: 'scripted' });
    expect(other.experiment).toBeUndefined();
    await finish(other);

    const refused = await http()
      .post('/v1/sessions')
      .set(bearer(keyOf('user-002')))
      .send({ query: 'hi', experiment: 'no-such' })
      .expect(400);
    expect(refused.body.error).toEqual({
      code: 'EXPERIMENT_NOT_FOUND',
      message: "No experiment 'no-such' is configured",
    });
    const socket = await connect(server.url, keyOf('user-002'));
    try {
      expect(
        await wsRequest(socket, 'session:create', { query: 'hi', experiment: 'no-such' }),
      ).toEqual({
        ok: false,
        error: { code: 'EXPERIMENT_NOT_FOUND', message: expect.any(String) },
      });
    } finally {
      socket.close();
    }
    const missing = await http().get('/v1/experiments/no-such').set(bearer(ADMIN)).expect(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });
});

describe('traffic policies naming models no provider serves', () => {
  it('stop the boot with one line naming the key, once the providers are registered', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jelmore-traffic-boot-'));
    const config = loadConfig({
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      JELMORE_LOG_LEVEL: 'silent',
      JELMORE_ROUTING: JSON.stringify({ complexity: { tiers: { simple: 'gpt-9' } } }),
    });
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(config)],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    try {
      const booted = await app.init().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(booted).toBeInstanceOf(ConfigError);
      expect((booted as Error).message).toBe(
        "Invalid configuration: JELMORE_ROUTING.complexity.tiers.simple names model 'gpt-9', which no provider serves",
      );
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
