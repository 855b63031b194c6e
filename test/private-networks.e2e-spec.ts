import request from 'supertest';
import { startTestServer, type TestServer } from './support/app';
import { TestSubscription } from './support/push-service';
import { WEBHOOK_SECRET } from './support/webhook-receiver';

// URLs an API key registers are called by the server: by default none may reach this machine or its
// networks (JELMORE_ALLOW_PRIVATE_NETWORKS), whatever the route.
describe('URLs a key registers and private networks', () => {
  const KEY = 'carol-key-0123456789abcdef';
  const auth = { authorization: `Bearer ${KEY}` };
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { JELMORE_API_KEYS: `carol:${KEY}` } });
  });
  afterAll(() => server?.close());

  const inside = [
    ['loopback', '127.0.0.1:9'],
    ['a cloud metadata service', '169.254.169.254'],
    ['a private network', '10.0.0.7'],
    ['IPv6 loopback', '[::1]:9'],
    ['a name that resolves to loopback', 'localhost:9'],
  ];

  it.each(inside)(
    'refuses a webhook to %s with a code, and stores nothing',
    async (_what, host) => {
      const res = await request(server.url)
        .post('/v1/webhooks')
        .set(auth)
        .send({ url: `https://${host}/hook`, events: ['result'], secret: WEBHOOK_SECRET })
        .expect(400);
      expect(res.body.error).toMatchObject({ code: 'PRIVATE_ADDRESS', details: { field: 'url' } });
      expect((await request(server.url).get('/v1/webhooks').set(auth)).body).toEqual([]);
    },
  );

  it.each(inside)(
    'refuses a push endpoint on %s with a code, and stores nothing',
    async (_what, host) => {
      const res = await request(server.url)
        .post('/v1/push/subscriptions')
        .set(auth)
        .send(new TestSubscription(`https://${host}/push/abc`).json)
        .expect(400);
      expect(res.body.error).toMatchObject({
        code: 'PRIVATE_ADDRESS',
        details: { field: 'endpoint' },
      });
      expect((await request(server.url).get('/v1/push/subscriptions').set(auth)).body).toEqual([]);
    },
  );

  it('takes public addresses, and a name that resolves to nothing (its sends fail and retry)', async () => {
    for (const url of ['https://203.0.113.9/hook', 'https://no-such-host.invalid/hook']) {
      await request(server.url)
        .post('/v1/webhooks')
        .set(auth)
        .send({ url, events: ['result'], secret: WEBHOOK_SECRET })
        .expect(201);
    }
    await request(server.url)
      .post('/v1/push/subscriptions')
      .set(auth)
      .send(new TestSubscription('https://203.0.113.9/push/abc').json)
      .expect(201);
  });
});
