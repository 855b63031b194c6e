import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const OPS = 'ops-key-0123456789abcdef';
const KEYS = `alice:${ALICE},bob:${BOB},ops:${OPS}:admin`;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe('metrics per tenant', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: { JELMORE_API_KEYS: KEYS, JELMORE_SCRIPTED_ENABLED: 'true' },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  const metrics = async (key: string) =>
    (await request(server.url).get('/v1/metrics').set(bearer(key)).expect(200)).body as {
      total_sessions: number;
      active_sessions: number;
      providers: Record<string, { total_sessions: number }>;
    };

  it("shows a key its own sessions' figures only; an admin key sees every key's", async () => {
    const created: Array<[string, string]> = [];
    for (const key of [ALICE, BOB, BOB]) {
      const res = await request(server.url)
        .post('/v1/sessions')
        .set(bearer(key))
        .send({ query: '[[events 1]]', provider: 'scripted' })
        .expect(201);
      created.push([key, (res.body as SessionResource).id]);
    }

    expect(await metrics(ALICE)).toMatchObject({
      total_sessions: 1,
      providers: { scripted: { total_sessions: 1 } },
    });
    expect(await metrics(BOB)).toMatchObject({
      total_sessions: 2,
      providers: { scripted: { total_sessions: 2 } },
    });
    expect(await metrics(OPS)).toMatchObject({
      total_sessions: 3,
      providers: { scripted: { total_sessions: 3 } },
    });

    for (const [key, id] of created) {
      await request(server.url).delete(`/v1/sessions/${id}`).set(bearer(key)).expect(200);
    }
  });

  it('serves the Prometheus scrape, which counts every key, to admin keys only', async () => {
    const refused = await request(server.url).get('/metrics').set(bearer(ALICE)).expect(403);
    expect(refused.body.error.code).toBe('FORBIDDEN');
    const scrape = await request(server.url).get('/metrics').set(bearer(OPS)).expect(200);
    expect(scrape.text).toMatch(/^jelmore_sessions_created_total\{provider="scripted"\} \d+$/m);
  });
});
