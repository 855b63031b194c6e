import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { Checkpoint, SessionEvent, SessionResource } from '@jelmore/contracts';
import { startTestServer, TestServer } from './support/app';
import { branches, makeRepository, worktreeFolders } from './support/git';
import { waitUntil } from './support/processes';
import { connect, request as wsRequest, startSession } from './support/ws-client';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const OPS = 'ops-key-0123456789abcdef';
const KEYS = `alice:${ALICE},bob:${BOB},ops:${OPS}:admin`;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

describe("each key's sessions work only in their own folders and the shared workspace", () => {
  let server: TestServer;
  let root: string;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: KEYS,
        JELMORE_SHARED_WORKSPACE: 'shared',
        JELMORE_SCRIPTED_ENABLED: 'true',
        // The agent itself may reach another key's folder: the server's own check is what is tested.
        JELMORE_AGENT_SANDBOX: 'off',
      },
    });
    root = join(server.dir, 'workspace');
    mkdirSync(root, { recursive: true });
  });

  afterAll(async () => {
    await server?.close();
  });

  const http = () => request(server.url);

  /** Creates a scripted session (cheap: no model) for `key`; the response, whatever its status. */
  const create = (key: string, cwd?: string, query = '[[events 1]]') =>
    http()
      .post('/v1/sessions')
      .set(bearer(key))
      .send({ query, provider: 'scripted', ...(cwd === undefined ? {} : { cwd }) });

  const sessionIds = async (key: string) =>
    ((await http().get('/v1/sessions').set(bearer(key)).expect(200)).body as SessionResource[]).map(
      (s) => s.id,
    );

  const end = (key: string, id: string) =>
    http().delete(`/v1/sessions/${id}`).set(bearer(key)).expect(200);

  it('refuses a cwd that is a regular file with 400 VALIDATION_FAILED, storing nothing', async () => {
    writeFileSync(join(root, 'notes.txt'), 'not a directory');
    const before = await sessionIds(OPS);
    // The default provider (Claude Code): spawning it in a file's place failed with ENOTDIR.
    const res = await http()
      .post('/v1/sessions')
      .set(bearer(OPS))
      .send({ query: 'hi', cwd: 'notes.txt' })
      .expect(400);
    expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cwd' } });
    expect(await sessionIds(OPS)).toEqual(before);
  });

  it('answers every cwd outside the workspace alike, whether the path exists or not', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'jelmore-outside-'));
    writeFileSync(join(outside, 'secret'), 'x');
    try {
      const answers = new Set<string>();
      for (const cwd of [
        '/etc/shadow',
        '/etc/nope',
        '/etc',
        join(outside, 'secret'),
        join(outside, 'nope', 'deeper'),
        '../..',
        '../../nope',
      ]) {
        const res = await create(OPS, cwd);
        answers.add(
          JSON.stringify({
            status: res.status,
            error: { ...res.body.error, message: res.body.error.message.replace(cwd, '…') },
          }),
        );
      }
      expect([...answers].map((a) => JSON.parse(a) as unknown)).toEqual([
        {
          status: 400,
          error: {
            code: 'VALIDATION_FAILED',
            message: "cwd '…' must be an existing directory inside the workspace",
            details: { field: 'cwd' },
          },
        },
      ]);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("confines a key's cwd to its own sessions' folders and the shared workspace; admin keys use any", async () => {
    const alices = (await create(ALICE).expect(201)).body as SessionResource;
    expect(alices.cwd).toBe(join(root, alices.id));
    mkdirSync(join(alices.cwd, 'sub'));
    const refusal = {
      code: 'VALIDATION_FAILED',
      details: { field: 'cwd' },
    };
    const bobBefore = await sessionIds(BOB);
    for (const cwd of [alices.cwd, alices.id, `${alices.id}/sub`, '.', root]) {
      const res = await create(BOB, cwd).expect(400);
      expect(res.body.error).toMatchObject(refusal);
      expect(res.body.error.message).toBe(
        `cwd '${cwd}' must be an existing directory in one of your sessions' folders or in the shared workspace`,
      );
    }
    // The same over Socket.IO.
    const socket = await connect(server.url, BOB);
    try {
      const ack = await wsRequest(socket, 'session:create', {
        query: '[[events 1]]',
        provider: 'scripted',
        cwd: alices.cwd,
      });
      expect(ack).toMatchObject({ ok: false, error: refusal });
    } finally {
      socket.disconnect();
    }
    expect(await sessionIds(BOB)).toEqual(bobBefore);

    const allowed: Array<[string, string | undefined, string]> = [
      [ALICE, alices.id, alices.cwd],
      [ALICE, `${alices.id}/sub`, join(alices.cwd, 'sub')],
      [BOB, 'shared', join(root, 'shared')],
      [OPS, alices.cwd, alices.cwd],
      [OPS, '.', root],
    ];
    for (const [key, cwd, real] of allowed) {
      const session = (await create(key, cwd).expect(201)).body as SessionResource;
      expect(session.cwd).toBe(real);
      await end(key, session.id);
    }
    await end(ALICE, alices.id);
  });

  it('moves the session cwd on a directory change only into a folder its key may use', async () => {
    const bobs = (await create(BOB).expect(201)).body as SessionResource;
    // The real Claude Code CLI, whose Bash tool changes directory and reports it.
    const alices = (
      await http().post('/v1/sessions').set(bearer(ALICE)).send({ query: 'hi' }).expect(201)
    ).body as SessionResource;
    const events = async () =>
      (await http().get(`/v1/sessions/${alices.id}/events`).set(bearer(ALICE)).expect(200)).body
        .events as SessionEvent[];
    const turnsEnded = async (n: number) =>
      waitUntil(async () => (await events()).filter((e) => e.type === 'result').length >= n);
    const cwdOf = async () =>
      (
        (await http().get(`/v1/sessions/${alices.id}`).set(bearer(ALICE)).expect(200))
          .body as SessionResource
      ).cwd;
    const turn = async (text: string, n: number) => {
      await waitUntil(
        async () =>
          (
            (await http().get(`/v1/sessions/${alices.id}`).set(bearer(ALICE)))
              .body as SessionResource
          ).state === 'idle',
      );
      await http()
        .post(`/v1/sessions/${alices.id}/input`)
        .set(bearer(ALICE))
        .send({ text })
        .expect(202);
      expect(await turnsEnded(n)).toBe(true);
    };

    await turn(`[[bash cd ${bobs.cwd}]]`, 2);
    // The change is reported as it happened, and the turn ended after it was handled.
    const changes = (await events()).filter((e) => e.type === 'directory_changed');
    expect(changes.at(-1)).toMatchObject({ to: bobs.cwd });
    expect(await cwdOf()).toBe(alices.cwd);

    await turn(`[[bash cd ${join(root, 'shared')}]]`, 3);
    expect(await cwdOf()).toBe(join(root, 'shared'));
    await end(ALICE, alices.id);
    await end(BOB, bobs.id);
  });

  it("answers another key's session history, rewind and fork as not found, and leaves it unchanged", async () => {
    const repo = join(root, 'shared', 'repo');
    makeRepository(repo, { 'README.md': '# demo\n' });
    const alice = await connect(server.url, ALICE);
    const bob = await connect(server.url, BOB);
    try {
      const { session, events } = await startSession(alice, {
        provider: 'scripted',
        query: '[[events 1]] first',
        cwd: 'shared/repo',
        isolation: 'worktree',
      });
      const checkpointed = (turn: number) => (all: SessionEvent[]) =>
        all.some((e) => e.type === 'checkpoint' && e.turn === turn);
      await events.waitFor(checkpointed(1));
      // Turn 2's checkpoint holds a file, so a rewind to turn 1 would take it away.
      writeFileSync(join(session.cwd, 'turn2.txt'), 'two\n');
      await wsRequest(alice, 'session:input', {
        sessionId: session.id,
        text: '[[events 1]] second',
      });
      await events.waitFor(checkpointed(2));
      await events.waitFor(() => events.ofType('status').at(-1)?.to === 'idle');
      const checkpointsOf = async () =>
        (await http().get(`/v1/sessions/${session.id}/checkpoints`).set(bearer(ALICE)).expect(200))
          .body as Checkpoint[];
      const before = {
        checkpoints: await checkpointsOf(),
        alices: await sessionIds(ALICE),
        bobs: await sessionIds(BOB),
        worktrees: worktreeFolders(repo),
        branches: branches(repo),
      };
      expect(before.checkpoints.map((c) => [c.turn, c.filesChanged])).toEqual([
        [0, 0],
        [1, 0],
        [2, 1],
      ]);

      // Each answers as for a session that does not exist: nothing tells bob that alice's does.
      const nobody = randomUUID();
      const asks: Array<[string, (id: string) => request.Test]> = [
        ['checkpoints', (id) => http().get(`/v1/sessions/${id}/checkpoints`)],
        ['diff', (id) => http().get(`/v1/sessions/${id}/diff?from=0&to=2`)],
        ['rewind', (id) => http().post(`/v1/sessions/${id}/rewind`).send({ turn: 1 })],
        ['fork', (id) => http().post(`/v1/sessions/${id}/fork`).send({ turn: 1 })],
      ];
      for (const [name, ask] of asks) {
        const res = await ask(session.id).set(bearer(BOB));
        const unknown = await ask(nobody).set(bearer(BOB));
        expect([name, res.status, res.body.error?.code]).toEqual([name, 404, 'SESSION_NOT_FOUND']);
        expect(JSON.stringify(res.body).replaceAll(session.id, nobody)).toBe(
          JSON.stringify(unknown.body),
        );
      }
      for (const event of ['session:fork', 'session:rewind']) {
        const ack = await wsRequest(bob, event, { sessionId: session.id, turn: 1 });
        expect([event, ack]).toMatchObject([
          event,
          { ok: false, error: { code: 'SESSION_NOT_FOUND' } },
        ]);
      }

      expect({
        checkpoints: await checkpointsOf(),
        alices: await sessionIds(ALICE),
        bobs: await sessionIds(BOB),
        worktrees: worktreeFolders(repo),
        branches: branches(repo),
      }).toEqual(before);
      expect(existsSync(join(session.cwd, 'turn2.txt'))).toBe(true);
      // The same rewind from its own key goes through: what bob met was the ownership check.
      const own = await wsRequest(alice, 'session:rewind', { sessionId: session.id, turn: 1 });
      expect(own).toMatchObject({ ok: true, turn: 1, filesChanged: 1, conversation: 'truncated' });
      expect(existsSync(join(session.cwd, 'turn2.txt'))).toBe(false);
      await end(ALICE, session.id);
      expect(worktreeFolders(repo)).toEqual([repo]);
    } finally {
      alice.disconnect();
      bob.disconnect();
    }
  });
});

describe('resume keeps the confinement', () => {
  it('refuses to resume a session whose cwd its key may no longer use, and leaves it suspended', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jelmore-e2e-'));
    const env = { JELMORE_API_KEYS: KEYS, JELMORE_SCRIPTED_ENABLED: 'true' };
    let server = await startTestServer({
      dir,
      env: { ...env, JELMORE_SHARED_WORKSPACE: 'shared' },
    });
    try {
      const session = (
        await request(server.url)
          .post('/v1/sessions')
          .set(bearer(BOB))
          .send({ query: '[[events 1]]', provider: 'scripted', cwd: 'shared' })
          .expect(201)
      ).body as SessionResource;
      const state = async () =>
        (
          (await request(server.url).get(`/v1/sessions/${session.id}`).set(bearer(BOB)))
            .body as SessionResource
        ).state;
      expect(await waitUntil(async () => (await state()) === 'idle')).toBe(true);
      await request(server.url)
        .post(`/v1/sessions/${session.id}/suspend`)
        .set(bearer(BOB))
        .expect(200);
      await server.close();

      // The shared workspace is withdrawn: the folder is no longer one bob's sessions may use.
      server = await startTestServer({ dir, env });
      for (const key of [BOB, OPS]) {
        const res = await request(server.url)
          .post(`/v1/sessions/${session.id}/resume`)
          .set(bearer(key))
          .expect(400);
        expect(res.body.error).toMatchObject({
          code: 'VALIDATION_FAILED',
          details: { field: 'cwd' },
        });
      }
      expect(await state()).toBe('suspended');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
