import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { DEFAULT_NATS_STREAM } from '../apps/server/src/nats/nats.constants';
import { startTestServer, TestServer } from './support/app';
import { waitUntil } from './support/processes';
import { TcpProxy } from './support/tcp-proxy';

const NATS_PORT = 4222;
/*
 * The default stream, shared with anything else on this NATS: a per-run stream cannot exist beside it,
 * JetStream refuses two streams over `jelmore.sessions.>`. Each test purges its own sessions' subjects.
 */
const STREAM = DEFAULT_NATS_STREAM;

async function connectNats(): Promise<NatsConnection> {
  try {
    return await connect({ servers: `127.0.0.1:${NATS_PORT}`, timeout: 3000 });
  } catch (err) {
    throw new Error(
      `NATS with JetStream must run on 127.0.0.1:${NATS_PORT} for this test (nats-server -js): ${String(err)}`,
      { cause: err },
    );
  }
}

const filterOf = (sessionId: string) => `jelmore.sessions.${sessionId}.>`;
const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Messages the stream holds for the session, counted by the server. */
async function storedCount(jsm: JetStreamManager, sessionId: string): Promise<number> {
  const info = await jsm.streams.info(STREAM, { subjects_filter: filterOf(sessionId) });
  return Object.values(info.state.subjects ?? {}).reduce((sum, n) => sum + n, 0);
}

/** Every message of the session, in stream order, through an ordered consumer filtered to it. */
async function readSession(js: JetStreamClient, sessionId: string): Promise<JsMsg[]> {
  // A string filter: `filter_subjects` (an array) needs NATS 2.10, the one here is 2.9.
  const consumer = await js.consumers.get(STREAM, { filter_subjects: filterOf(sessionId) });
  const messages: JsMsg[] = [];
  // Asks for more than can be there, so it also shows that nothing extra was stored.
  for await (const m of await consumer.fetch({ max_messages: 100_000, expires: 1500 })) {
    messages.push(m);
  }
  return messages;
}

async function sessionEvents(http: request.Agent, id: string): Promise<SessionEvent[]> {
  return (await http.get(`/v1/sessions/${id}/events?limit=10000`).expect(200)).body.events;
}

/** Waits for the session's `turns`-th result event and returns its whole log. */
async function afterTurns(
  http: request.Agent,
  id: string,
  turns: number,
  timeoutMs = 20_000,
): Promise<SessionEvent[]> {
  let events: SessionEvent[] = [];
  const done = await waitUntil(async () => {
    events = await sessionEvents(http, id);
    const last = events.at(-1);
    const idle = last?.type === 'status' && last.to === 'idle';
    return idle && events.filter((e) => e.type === 'result').length >= turns;
  }, timeoutMs);
  if (!done) throw new Error(`session ${id} did not finish turn ${turns} in ${timeoutMs} ms`);
  return events;
}

async function metric(http: request.Agent, name: string, labels = ''): Promise<number> {
  const text = (await http.get('/metrics').expect(200)).text;
  const escaped = `${name}${labels}`.replace(/[{}]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  if (!match) throw new Error(`metric ${name}${labels} not found`);
  return Number(match[1]);
}

describe('NATS JetStream event sink', () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const sessionIds: string[] = [];

  beforeAll(async () => {
    nc = await connectNats();
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    // Leave the shared stream as it was: only this run's messages go.
    for (const id of sessionIds) {
      await jsm.streams.purge(STREAM, { filter: filterOf(id) }).catch(() => undefined);
    }
    await nc?.drain();
  });

  describe('with NATS up', () => {
    let server: TestServer;
    let http: request.Agent;
    let closed = false;

    beforeAll(async () => {
      server = await startTestServer({
        env: {
          JELMORE_NATS_URL: `nats://127.0.0.1:${NATS_PORT}`,
          JELMORE_SCRIPTED_ENABLED: 'true',
        },
      });
      http = request.agent(server.url);
    });

    afterAll(async () => {
      if (!closed) await server?.close();
    });

    it('creates the stream at boot and reports NATS in readiness', async () => {
      const info = await jsm.streams.info(STREAM);
      expect(info.config.subjects).toEqual(['jelmore.sessions.>']);
      const ready = await http.get('/health/ready').expect(200);
      expect(ready.body.details.nats).toMatchObject({ status: 'up', connected: true, pending: 0 });
    });

    it('publishes every committed event once, in seq order, as jelmore.sessions.<id>.<type>', async () => {
      const created = await http
        .post('/v1/sessions')
        .send({ provider: 'scripted', query: '[[events 300]] [[rate 0]] [[tool]]' })
        .expect(201);
      const id = (created.body as SessionResource).id;
      sessionIds.push(id);
      const events = await afterTurns(http, id, 1);
      const lastSeq = events.at(-1)!.seq;
      expect(lastSeq).toBeGreaterThan(300);

      expect(await waitUntil(async () => (await storedCount(jsm, id)) === lastSeq, 15_000)).toBe(
        true,
      );
      const messages = await readSession(js, id);
      const published = messages.map((m) => m.json<SessionEvent>());
      // Each seq exactly once, contiguous from 1, in order, and the very events the API serves.
      expect(published.map((e) => e.seq)).toEqual(range(1, lastSeq));
      expect(published).toEqual(events);
      for (const [i, m] of messages.entries()) {
        expect(m.subject).toBe(`jelmore.sessions.${id}.${published[i].type}`);
        expect(m.headers?.get('Nats-Msg-Id')).toBe(`${id}:${published[i].seq}`);
      }
      expect(new Set(published.map((e) => e.type))).toEqual(
        new Set(['status', 'user', 'tool_use', 'tool_result', 'assistant', 'usage', 'result']),
      );
      expect(await metric(http, 'jelmore_nats_events_published_total')).toBeGreaterThanOrEqual(
        lastSeq,
      );
      expect(await metric(http, 'jelmore_nats_pending_events')).toBe(0);

      // The same message id again is reported a duplicate and not stored; a new id is stored.
      const fifth = messages[4];
      const again = await js.publish(fifth.subject, fifth.data, { msgID: `${id}:5` });
      expect(again.duplicate).toBe(true);
      expect(await storedCount(jsm, id)).toBe(lastSeq);
      const fresh = await js.publish(`jelmore.sessions.${id}.probe`, 'x', {
        msgID: `${id}:probe`,
      });
      expect(fresh.duplicate).toBe(false);
      expect(await storedCount(jsm, id)).toBe(lastSeq + 1);
    });

    it('on shutdown publishes what is queued, the suspension of live sessions included', async () => {
      const created = await http
        .post('/v1/sessions')
        .send({ provider: 'scripted', query: '[[events 50000]] [[rate 0]]' })
        .expect(201);
      const id = (created.body as SessionResource).id;
      sessionIds.push(id);
      await waitUntil(async () => (await sessionEvents(http, id)).length > 500, 10_000);
      closed = true;
      await server.close();

      const published = (await readSession(js, id)).map((m) => m.json<SessionEvent>());
      expect(published.length).toBeGreaterThan(500);
      expect(published.map((e) => e.seq)).toEqual(range(1, published.length));
      expect(published.at(-1)).toMatchObject({ type: 'status', to: 'suspended' });
    });
  });

  describe('while NATS is unreachable', () => {
    const proxy = new TcpProxy(NATS_PORT);
    let server: TestServer;
    let http: request.Agent;
    const MAX_PENDING = 100;

    beforeAll(async () => {
      const port = await proxy.start();
      server = await startTestServer({
        env: {
          JELMORE_NATS_URL: `nats://127.0.0.1:${port}`,
          JELMORE_NATS_MAX_PENDING: String(MAX_PENDING),
          JELMORE_SCRIPTED_ENABLED: 'true',
        },
      });
      http = request.agent(server.url);
    });

    afterAll(async () => {
      await server?.close();
      await proxy.stop();
    });

    /** Readiness reports NATS without failing on it: the node stays ready while the sink queues. */
    async function natsReady(up: boolean): Promise<boolean> {
      return waitUntil(async () => {
        const res = await http.get('/health/ready');
        if (res.status !== 200 || res.body.details?.nats?.connected !== up) return false;
        return (await metric(http, 'jelmore_nats_connected')) === (up ? 1 : 0);
      }, 15_000);
    }

    it('keeps events while it is down, publishes them once it is back, and drops past the bound', async () => {
      const created = await http
        .post('/v1/sessions')
        .send({ provider: 'scripted', query: '[[events 40]] [[rate 0]]' })
        .expect(201);
      const id = (created.body as SessionResource).id;
      sessionIds.push(id);
      const first = (await afterTurns(http, id, 1)).at(-1)!.seq;
      expect(await waitUntil(async () => (await storedCount(jsm, id)) === first)).toBe(true);
      expect(
        await waitUntil(async () => (await metric(http, 'jelmore_nats_pending_events')) === 0),
      ).toBe(true);

      // Outage: the session goes on at its pace, readiness (still 200) says NATS is down, the events wait.
      await proxy.cut();
      expect(await natsReady(false)).toBe(true);
      const started = Date.now();
      await http.post(`/v1/sessions/${id}/input`).send({ text: '[[events 60]] [[rate 0]]' });
      const second = (await afterTurns(http, id, 2)).at(-1)!.seq;
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(second - first).toBeLessThan(MAX_PENDING);
      expect(await metric(http, 'jelmore_nats_pending_events')).toBe(second - first);
      expect(await storedCount(jsm, id)).toBe(first);

      await proxy.restore();
      expect(await waitUntil(async () => (await storedCount(jsm, id)) === second)).toBe(true);
      expect(await natsReady(true)).toBe(true);
      let published = (await readSession(js, id)).map((m) => m.json<SessionEvent>().seq);
      expect(published).toEqual(range(1, second));
      expect(
        await waitUntil(async () => (await metric(http, 'jelmore_nats_pending_events')) === 0),
      ).toBe(true);

      // A longer outage: the queue keeps its first MAX_PENDING events and counts the rest as dropped.
      await proxy.cut();
      expect(await natsReady(false)).toBe(true);
      await http.post(`/v1/sessions/${id}/input`).send({ text: '[[events 300]] [[rate 0]]' });
      const third = (await afterTurns(http, id, 3)).at(-1)!.seq;
      expect(await metric(http, 'jelmore_nats_pending_events')).toBe(MAX_PENDING);
      expect(await metric(http, 'jelmore_nats_events_dropped_total', '{reason="queue_full"}')).toBe(
        third - second - MAX_PENDING,
      );

      await proxy.restore();
      const kept = second + MAX_PENDING;
      expect(await waitUntil(async () => (await storedCount(jsm, id)) === kept)).toBe(true);
      published = (await readSession(js, id)).map((m) => m.json<SessionEvent>().seq);
      expect(published).toEqual(range(1, kept));
    });
  });
});
