import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { base64Blocks, FakeAnthropicServer, textOf } from './fixtures/fake-anthropic';
import { freshPostgresSchema, redisAnswers, REDIS_URL } from './support/cluster-services';
import { pngImage, sha256, uploadAttachment } from './support/media';
import { waitUntil } from './support/processes';
import { freePort, ServerProcess } from './support/server-process';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

/** The sha256 of each base64 image in a model request's message. */
const imagesSent = (message: Parameters<typeof base64Blocks>[0]) =>
  base64Blocks(message)
    .filter((block) => block.type === 'image')
    .map((block) => block.sha256);

const contiguous = (events: SessionEvent[]) =>
  events.map((e) => e.seq).every((seq, i) => seq === i + 1);

describe('two nodes sharing PostgreSQL and Redis', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-cluster-'));
  const fake = new FakeAnthropicServer({ slowDelayMs: 40 });
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let a: ServerProcess;
  let b: ServerProcess;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    await redisAnswers(REDIS_URL);
    schema = await freshPostgresSchema('jelmore_cluster');
    const fakeUrl = await fake.start();
    const env = (node: string) => ({
      JELMORE_DATABASE_URL: schema.url,
      JELMORE_REDIS_URL: REDIS_URL,
      JELMORE_NODE_ID: `${node}-${randomBytes(3).toString('hex')}`,
      JELMORE_NODE_LEASE_SECONDS: '3',
      JELMORE_SHUTDOWN_GRACE_SECONDS: '20',
      // One data dir: Claude's transcripts must be where the resuming node looks (a shared volume).
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
      JELMORE_LOG_LEVEL: 'warn',
    });
    a = new ServerProcess(await freePort(), env('a'));
    b = new ServerProcess(await freePort(), env('b'));
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    for (const socket of sockets) socket.disconnect();
    await a?.kill('SIGTERM');
    await b?.kill('SIGTERM');
    await fake.stop();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (node: ServerProcess) => {
    const socket = await connect(node.url);
    sockets.push(socket);
    return socket;
  };
  const stateOf = async (node: ServerProcess, id: string) =>
    ((await request(node.url).get(`/v1/sessions/${id}`).expect(200)).body as SessionResource).state;
  const eventsOf = async (node: ServerProcess, id: string) =>
    (await request(node.url).get(`/v1/sessions/${id}/events`).expect(200)).body
      .events as SessionEvent[];

  let sessionId: string;

  it('a client on B receives every event of a session created through A, once, in order', async () => {
    const created = await request(a.url)
      .post('/v1/sessions')
      .send({ query: '[[slow 25]]' })
      .expect(201);
    sessionId = (created.body as SessionResource).id;
    const onB = await open(b);
    const seen = new EventCollector(onB, sessionId);
    expect(await wsRequest(onB, 'session:subscribe', { sessionId, after: 0 })).toMatchObject({
      ok: true,
    });
    await seen.waitForResults(1);
    expect(await waitUntil(async () => (await stateOf(b, sessionId)) === 'idle', 30_000)).toBe(
      true,
    );
    // Live pieces arrived on B as A produced them, not only from the replay.
    expect(seen.events.filter((e) => e.type === 'assistant').length).toBeGreaterThanOrEqual(25);
    const stored = await eventsOf(a, sessionId);
    await waitUntil(async () => seen.events.length >= stored.length, 5_000);
    expect(seen.events.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    expect(contiguous(seen.events)).toBe(true);
  });

  it('input sent through B reaches the agent on A', async () => {
    const before = fake.agentRequests().length;
    await request(b.url)
      .post(`/v1/sessions/${sessionId}/input`)
      .send({ text: 'routed through B' })
      .expect(202);
    expect(
      await waitUntil(
        async () =>
          fake
            .agentRequests()
            .slice(before)
            .some((r) => JSON.stringify(r.messages).includes('routed through B')),
        30_000,
      ),
    ).toBe(true);
    expect(await waitUntil(async () => (await stateOf(a, sessionId)) === 'idle', 30_000)).toBe(
      true,
    );
    const results = (await eventsOf(b, sessionId)).filter((e) => e.type === 'result');
    expect(results).toHaveLength(2);
    // An interrupt through B for an idle session is answered by A, with A's answer.
    await request(b.url).post(`/v1/sessions/${sessionId}/interrupt`).expect(202);
  });

  it('an image uploaded to B reaches the agent on A: attachments live in the shared database', async () => {
    const image = pngImage(31);
    const upload = await uploadAttachment(b.url, image);
    const before = fake.agentRequests().length;
    await request(b.url)
      .post(`/v1/sessions/${sessionId}/input`)
      .send({
        text: [
          { type: 'text', text: 'image through B' },
          { type: 'image', attachmentId: upload.id },
        ],
      })
      .expect(202);
    expect(await waitUntil(async () => fake.agentRequests().length > before, 30_000)).toBe(true);
    expect(imagesSent(fake.agentRequests()[before].messages.at(-1))).toEqual([sha256(image)]);
    expect(await waitUntil(async () => (await stateOf(a, sessionId)) === 'idle', 30_000)).toBe(
      true,
    );
  });

  it('SIGTERM on A tells its clients, suspends its sessions, and B resumes one with its history', async () => {
    const onA = await open(a);
    const hint = new Promise<unknown>((resolve) => onA.once('server:shutdown', resolve));
    await a.kill('SIGTERM');
    expect(await hint).toMatchObject({ reconnect: true });
    expect(await stateOf(b, sessionId)).toBe('suspended');
    const log = await eventsOf(b, sessionId);
    expect(log.at(-1)).toMatchObject({
      type: 'status',
      to: 'suspended',
      reason: 'server shutting down',
    });

    const resumed = await request(b.url).post(`/v1/sessions/${sessionId}/resume`).expect(200);
    expect(resumed.body).toMatchObject({ state: 'idle' });
    const before = fake.agentRequests().length;
    await request(b.url)
      .post(`/v1/sessions/${sessionId}/input`)
      .send({ text: 'after the move' })
      .expect(202);
    expect(await waitUntil(async () => (await stateOf(b, sessionId)) === 'idle', 30_000)).toBe(
      true,
    );
    // The agent on B continued A's conversation: its request carries the earlier turns.
    const request_ = fake.agentRequests().slice(before).at(-1)!;
    const userTexts = request_.messages
      .filter((m) => m.role === 'user')
      .map((m) => (typeof m.content === 'string' ? m.content : textOf(m.content as never)));
    expect(userTexts.join('\n')).toContain('routed through B');
    expect(userTexts.join('\n')).toContain('after the move');
    // The image turn moved with the conversation, bytes and all.
    expect(request_.messages.flatMap((m) => imagesSent(m))).toEqual([sha256(pngImage(31))]);
    const all = await eventsOf(b, sessionId);
    expect(contiguous(all)).toBe(true);
    expect(all.filter((e) => e.type === 'result')).toHaveLength(4);
  });

  it('sessions of a node that dies without a word are marked interrupted once its lease expires', async () => {
    const c = new ServerProcess(await freePort(), {
      JELMORE_DATABASE_URL: schema.url,
      JELMORE_REDIS_URL: REDIS_URL,
      JELMORE_NODE_ID: `c-${randomBytes(3).toString('hex')}`,
      JELMORE_NODE_LEASE_SECONDS: '3',
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      JELMORE_SCRIPTED_ENABLED: 'true',
    });
    await c.start();
    const created = await request(c.url)
      .post('/v1/sessions')
      .send({ query: '[[events 100000]] [[rate 20]]', provider: 'scripted' })
      .expect(201);
    const id = (created.body as SessionResource).id;
    await c.kill('SIGKILL');
    expect(await waitUntil(async () => (await stateOf(b, id)) === 'interrupted', 20_000)).toBe(
      true,
    );
    // The reaper sets the state first and appends its status event after: wait for that event too.
    const lastStatus = async () =>
      (await eventsOf(b, id)).filter((e) => e.type === 'status').at(-1);
    expect(await waitUntil(async () => (await lastStatus())?.to === 'interrupted', 10_000)).toBe(
      true,
    );
    expect(await lastStatus()).toMatchObject({
      to: 'interrupted',
      reason: expect.stringMatching(/node c-\w+ was lost/),
    });
    await request(b.url).delete(`/v1/sessions/${id}`).expect(200);
  });
});

describe('a Redis outage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-redis-outage-'));
  let redis: ChildProcess | undefined;
  let redisPort: number;
  let schema: Awaited<ReturnType<typeof freshPostgresSchema>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let socket: Socket | undefined;

  const startRedis = async () => {
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    // Until it listens; then once more, to fail with Redis's own error if it never did.
    const url = `redis://127.0.0.1:${redisPort}`;
    await waitUntil(
      () =>
        redisAnswers(url).then(
          () => true,
          () => false,
        ),
      10_000,
    );
    await redisAnswers(url);
  };
  const stopRedis = async () => {
    const child = redis;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    redisPort = await freePort();
    await startRedis();
    schema = await freshPostgresSchema('jelmore_cluster');
    const env = (node: string) => ({
      JELMORE_DATABASE_URL: schema.url,
      JELMORE_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      JELMORE_NODE_ID: `${node}-${randomBytes(3).toString('hex')}`,
      JELMORE_NODE_LEASE_SECONDS: '3',
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      JELMORE_SCRIPTED_ENABLED: 'true',
      JELMORE_LOG_LEVEL: 'error',
    });
    a = new ServerProcess(await freePort(), env('a'));
    b = new ServerProcess(await freePort(), env('b'));
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    socket?.disconnect();
    await a?.kill('SIGTERM');
    await b?.kill('SIGTERM');
    await stopRedis();
    await schema?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const ready = async (node: ServerProcess) => (await fetch(`${node.url}/health/ready`)).status;
  const lastSeqOn = async (node: ServerProcess, id: string) =>
    ((await request(node.url).get(`/v1/sessions/${id}`).expect(200)).body as SessionResource)
      .lastSeq;

  it('is survived: readiness goes false, then true, and a subscriber on the other node loses no event', async () => {
    expect(await ready(a)).toBe(200);
    const created = await request(a.url)
      .post('/v1/sessions')
      .send({ query: '[[events 300]] [[rate 50]]', provider: 'scripted' })
      .expect(201);
    const id = (created.body as SessionResource).id;
    socket = await connect(b.url);
    const seen = new EventCollector(socket, id);
    expect(await wsRequest(socket, 'session:subscribe', { sessionId: id, after: 0 })).toMatchObject(
      { ok: true },
    );
    await waitUntil(async () => seen.events.length > 20, 10_000);

    await stopRedis();
    expect(await waitUntil(async () => (await ready(a)) === 503, 10_000)).toBe(true);
    const body = (await (await fetch(`${a.url}/health/ready`)).json()) as {
      error: Record<string, unknown>;
    };
    expect(body.error).toHaveProperty('redis');
    // The session goes on while Redis is down: wait until it has committed events in the outage (the
    // ones the subscriber on B cannot get through Redis), not for a fixed time.
    const atOutage = await lastSeqOn(a, id);
    expect(await waitUntil(async () => (await lastSeqOn(a, id)) >= atOutage + 25, 10_000)).toBe(
      true,
    );
    await startRedis();
    expect(
      await waitUntil(async () => (await ready(a)) === 200 && (await ready(b)) === 200, 15_000),
    ).toBe(true);

    await seen.waitForResults(1);
    const stored = (await request(a.url).get(`/v1/sessions/${id}/events`).expect(200)).body
      .events as SessionEvent[];
    await waitUntil(async () => seen.events.length >= stored.length, 10_000);
    expect(seen.events.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    expect(contiguous(seen.events)).toBe(true);
    expect(seen.events.filter((e) => e.type === 'assistant')).toHaveLength(300);
  });
});
