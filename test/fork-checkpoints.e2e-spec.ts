import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type {
  Checkpoint,
  RewindResult,
  SessionDiff,
  SessionEvent,
  SessionResource,
} from '@jelmore/contracts';
import type { MessagesRequest } from './fixtures/fake-anthropic';
import { lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { branches, git, makeRepository, worktreeFolders } from './support/git';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

/**
 * Fork, checkpoints, rewind and worktrees with the real Claude Code CLI against the fake Anthropic API:
 * the agent's Bash tool writes the files, Jelmore records, compares, restores and branches them.
 */
describe('Fork, checkpoints and worktrees (Claude)', () => {
  let server: TestServer;
  let socket: Socket;
  let root: string;
  let repo: string;
  let head: string;

  beforeAll(async () => {
    server = await startTestServer();
    socket = await connect(server.url);
    root = join(server.dir, 'workspace');
    repo = join(root, 'repo');
    head = makeRepository(repo, { 'README.md': '# demo\n', '.gitignore': 'ignored.log\n' });
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  const api = () => request(server.url);

  async function create(
    body: object,
  ): Promise<{ session: SessionResource; events: EventCollector }> {
    const res = await api().post('/v1/sessions').send(body);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    const session = res.body as SessionResource;
    return { session, events: await subscribe(session.id) };
  }

  async function subscribe(sessionId: string): Promise<EventCollector> {
    const events = new EventCollector(socket, sessionId);
    expect(await wsRequest(socket, 'session:subscribe', { sessionId })).toMatchObject({ ok: true });
    return events;
  }

  /** Waits for the checkpoint of `turn`, which follows that turn's result. */
  async function checkpointOf(events: EventCollector, turn: number) {
    await events.waitFor((all) => all.some((e) => e.type === 'checkpoint' && e.turn === turn));
    return events.ofType('checkpoint').find((e) => e.turn === turn)!;
  }

  async function input(sessionId: string, text: string): Promise<void> {
    await api().post(`/v1/sessions/${sessionId}/input`).send({ text }).expect(202);
  }

  /** The model request whose last user turn says `marker`: what the agent sent for that turn. */
  function requestSaying(marker: string): MessagesRequest {
    const found = server.fake
      .agentRequests()
      .find((body) => textOf(lastUserContent(body)).includes(marker));
    if (!found) throw new Error(`no model request says ${marker}`);
    return found;
  }

  const conversation = (body: MessagesRequest) => JSON.stringify(body.messages);

  it('records each turn, diffs them, forks at turn 1 and rewinds to it', async () => {
    const { session, events } = await create({
      query: '[[bash echo one > a.txt]] alpha-turn',
      cwd: 'repo',
      isolation: 'worktree',
    });
    expect(session).toMatchObject({
      isolation: 'worktree',
      cwd: join(root, session.id),
      worktree: { repository: repo, branch: `jelmore/${session.id}`, base: head },
    });
    expect(worktreeFolders(repo)).toContain(session.cwd);
    const start = await checkpointOf(events, 0);
    expect(start.filesChanged).toBe(0);
    const first = await checkpointOf(events, 1);
    expect(first.filesChanged).toBe(1);
    // The checkpoint follows the turn's result, before the session is idle again.
    const result = events.ofType('result')[0];
    expect(first.seq).toBeGreaterThan(result.seq);
    await input(session.id, '[[bash echo two > b.txt]] beta-turn');
    const second = await checkpointOf(events, 2);
    expect(second.filesChanged).toBe(1);
    await events.waitFor((all) => lastStatus(all) === 'idle');

    // The agent worked in its worktree: the user's checkout, index and HEAD are as they were.
    expect(readFileSync(join(session.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(repo, 'a.txt'))).toBe(false);
    expect(git(repo, 'status', '--porcelain')).toBe('');
    expect(git(repo, 'rev-parse', 'HEAD')).toBe(head);

    const checkpoints = (await api().get(`/v1/sessions/${session.id}/checkpoints`).expect(200))
      .body as Checkpoint[];
    expect(checkpoints.map((c) => [c.turn, c.filesChanged])).toEqual([
      [0, 0],
      [1, 1],
      [2, 1],
    ]);
    expect(checkpoints[2].commit).toBe(second.commit);

    const whole = (await api().get(`/v1/sessions/${session.id}/diff`).expect(200))
      .body as SessionDiff;
    expect(whole.from).toBe(0);
    expect(whole.files).toEqual([
      { path: 'a.txt', status: 'added', additions: 1, deletions: 0 },
      { path: 'b.txt', status: 'added', additions: 1, deletions: 0 },
    ]);
    const turnTwo = (await api().get(`/v1/sessions/${session.id}/diff?from=1&to=2`).expect(200))
      .body as SessionDiff;
    expect(turnTwo.files.map((f) => f.path)).toEqual(['b.txt']);
    const patch = await api()
      .get(`/v1/sessions/${session.id}/diff?from=1&to=2`)
      .set('accept', 'text/x-diff')
      .expect(200);
    expect(patch.headers['content-type']).toMatch(/^text\/x-diff/);
    expect(patch.text).toContain('+++ b/b.txt');
    expect(patch.text).toContain('+two');
    expect(patch.text).not.toContain('a.txt');

    // Fork at turn 1: a new worktree with turn 1's files, a conversation with turn 1 only.
    const forked = await api().post(`/v1/sessions/${session.id}/fork`).send({ turn: 1 });
    expect(forked.status).toBe(201);
    const fork = forked.body as SessionResource;
    expect(fork).toMatchObject({
      parentId: session.id,
      forkedFrom: { sessionId: session.id, turn: 1 },
      isolation: 'worktree',
      state: 'idle',
      cwd: join(root, fork.id),
      worktree: { branch: `jelmore/${fork.id}` },
    });
    expect(readFileSync(join(fork.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(fork.cwd, 'b.txt'))).toBe(false);
    const forkEvents = await subscribe(fork.id);
    await input(fork.id, 'gamma-turn');
    await forkEvents.waitForResults(1);
    const forkRequest = requestSaying('gamma-turn');
    expect(conversation(forkRequest)).toContain('alpha-turn');
    expect(conversation(forkRequest)).not.toContain('beta-turn');
    // The parent is as it was.
    expect(existsSync(join(session.cwd, 'b.txt'))).toBe(true);

    // Rewind the parent to turn 1: b.txt goes, and the conversation forgets turn 2.
    const rewound = await api().post(`/v1/sessions/${session.id}/rewind`).send({ turn: 1 });
    expect(rewound.status).toBe(200);
    expect(rewound.body).toMatchObject({
      turn: 1,
      filesChanged: 1,
      conversation: 'truncated',
      session: { id: session.id, state: 'idle' },
    });
    expect(existsSync(join(session.cwd, 'b.txt'))).toBe(false);
    expect(readFileSync(join(session.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    await input(session.id, 'delta-turn');
    await checkpointOf(events, 2).then((c) => expect(c.commit).toBeDefined());
    await events.waitFor((all) => all.filter((e) => e.type === 'result').length >= 3);
    const afterRewind = requestSaying('delta-turn');
    expect(conversation(afterRewind)).toContain('alpha-turn');
    expect(conversation(afterRewind)).not.toContain('beta-turn');

    // Ending each removes its worktree; the branches had no commits, so they go too.
    for (const each of [session, fork]) {
      const ended = (await api().delete(`/v1/sessions/${each.id}`).expect(200))
        .body as SessionResource;
      expect(ended.worktreeRemoved).toEqual({ branch: `jelmore/${each.id}`, branchKept: false });
      expect(existsSync(each.cwd)).toBe(false);
    }
    expect(worktreeFolders(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(['main']);
    // Its checkpoints outlive it, for review.
    await api().get(`/v1/sessions/${session.id}/diff?from=0&to=1`).expect(200);
  });

  it('keeps two worktree sessions on one repository apart', async () => {
    const one = await create({
      query: '[[bash echo from-one > same.txt]]',
      cwd: 'repo',
      isolation: 'worktree',
    });
    const two = await create({
      query: '[[bash echo from-two > same.txt]]',
      cwd: 'repo',
      isolation: 'worktree',
    });
    await Promise.all([checkpointOf(one.events, 1), checkpointOf(two.events, 1)]);
    expect(readFileSync(join(one.session.cwd, 'same.txt'), 'utf8')).toBe('from-one\n');
    expect(readFileSync(join(two.session.cwd, 'same.txt'), 'utf8')).toBe('from-two\n');
    expect(existsSync(join(repo, 'same.txt'))).toBe(false);
    // Each one's diff holds its own change only.
    const diffOf = async (s: SessionResource) =>
      (await api().get(`/v1/sessions/${s.id}/diff?format=patch`).expect(200)).text;
    expect(await diffOf(one.session)).toContain('+from-one');
    expect(await diffOf(one.session)).not.toContain('from-two');
    // Nor can one's agent reach the other's files, or the checkpoint store, from its sandbox.
    const store = join(root, '.jelmore', 'checkpoints');
    await input(
      one.session.id,
      `[[bash cat ${two.session.cwd}/same.txt; ls ${store}; git log -1]]`,
    );
    await one.events.waitForResults(2);
    const [probe] = one.events.ofType('tool_result').slice(-1);
    expect(probe.output).not.toContain('from-two');
    expect(probe.output).toContain(`${two.session.cwd}/same.txt: No such file or directory`);
    expect(probe.output).not.toMatch(/[0-9a-f]{16}\.git/);
    // It still reads its repository's history (.git is shown read-only).
    expect(probe.output).toContain('initial');

    // A commit the user makes on the session's branch keeps the branch when the session ends.
    writeFileSync(join(two.session.cwd, 'kept.txt'), 'keep me\n');
    git(two.session.cwd, 'add', 'kept.txt');
    git(two.session.cwd, 'commit', '-q', '-m', 'keep');
    const ended = (await api().delete(`/v1/sessions/${two.session.id}`).expect(200))
      .body as SessionResource;
    expect(ended.worktreeRemoved).toEqual({
      branch: `jelmore/${two.session.id}`,
      branchKept: true,
    });
    expect(branches(repo)).toContain(`jelmore/${two.session.id}`);
    await api().delete(`/v1/sessions/${one.session.id}`).expect(200);
    git(repo, 'branch', '-D', `jelmore/${two.session.id}`);
    expect(worktreeFolders(repo)).toEqual([repo]);
  });

  it('records checkpoints of a plain session in a repository without touching its index', async () => {
    writeFileSync(join(repo, 'ignored.log'), 'noise\n');
    const { session, events } = await create({ query: '[[bash echo plain > p.txt]]', cwd: 'repo' });
    expect(session.isolation).toBe('none');
    expect(session.worktree).toBeUndefined();
    const first = await checkpointOf(events, 1);
    expect(first.filesChanged).toBe(1);
    const diff = (await api().get(`/v1/sessions/${session.id}/diff?from=0&to=1`).expect(200))
      .body as SessionDiff;
    // Untracked files count, ignored ones do not.
    expect(diff.files.map((f) => f.path)).toEqual(['p.txt']);
    expect(git(repo, 'status', '--porcelain')).toBe('?? p.txt');
    expect(git(repo, 'for-each-ref', 'refs/jelmore')).toBe('');
    await api().delete(`/v1/sessions/${session.id}`).expect(200);
    expect(existsSync(join(repo, 'p.txt'))).toBe(true);
  });

  it('refuses what it cannot do with a code, and creates nothing', async () => {
    const sessionsBefore = (await api().get('/v1/sessions').expect(200)).body as SessionResource[];
    const cases: Array<[object, number, string]> = [
      [{ query: 'x', isolation: 'worktree' }, 409, 'WORKTREE_UNAVAILABLE'],
      [{ query: 'x', cwd: '.', isolation: 'worktree' }, 409, 'WORKTREE_UNAVAILABLE'],
      [
        { query: 'x', cwd: 'repo', isolation: 'worktree', baseRef: 'no-such-ref' },
        400,
        'BASE_REF_NOT_FOUND',
      ],
      [
        { query: 'x', cwd: 'repo', isolation: 'worktree', baseRef: '--help' },
        400,
        'VALIDATION_FAILED',
      ],
      [{ query: 'x', cwd: 'repo', isolation: 'elsewhere' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const res = await api().post('/v1/sessions').send(body);
      expect([JSON.stringify(body), res.status, res.body.error?.code]).toEqual([
        JSON.stringify(body),
        status,
        code,
      ]);
    }
    // A merge in progress.
    writeFileSync(join(repo, '.git', 'MERGE_HEAD'), `${head}\n`);
    try {
      const res = await api()
        .post('/v1/sessions')
        .send({ query: 'x', cwd: 'repo', isolation: 'worktree' });
      expect([res.status, res.body.error?.code]).toEqual([409, 'WORKTREE_UNAVAILABLE']);
      expect(res.body.error?.message).toContain('merge');
    } finally {
      git(repo, 'update-ref', '-d', 'MERGE_HEAD');
    }
    const sessionsAfter = (await api().get('/v1/sessions').expect(200)).body as SessionResource[];
    expect(sessionsAfter.length).toBe(sessionsBefore.length);
    expect(worktreeFolders(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(['main']);

    const { session, events } = await create({
      query: 'hello',
      cwd: 'repo',
      isolation: 'worktree',
    });
    await checkpointOf(events, 1);
    const id = session.id;
    for (const [path, body, status, code] of [
      ['rewind', { turn: 7 }, 404, 'CHECKPOINT_NOT_FOUND'],
      ['fork', { turn: 7 }, 404, 'CHECKPOINT_NOT_FOUND'],
      ['fork', { turn: 0 }, 404, 'CHECKPOINT_NOT_FOUND'],
      ['rewind', {}, 400, 'VALIDATION_FAILED'],
      ['rewind', { turn: -1 }, 400, 'VALIDATION_FAILED'],
      ['fork', { turn: 'one' }, 400, 'VALIDATION_FAILED'],
    ] as const) {
      const res = await api().post(`/v1/sessions/${id}/${path}`).send(body);
      expect([path, body, res.status, res.body.error?.code]).toEqual([path, body, status, code]);
    }
    const diff = await api().get(`/v1/sessions/${id}/diff?from=5`);
    expect([diff.status, diff.body.error?.code]).toEqual([404, 'CHECKPOINT_NOT_FOUND']);
    // A running session does not rewind.
    await input(id, '[[slow 6]]');
    await events.waitFor((all) => lastStatus(all) === 'running');
    const busy = await api().post(`/v1/sessions/${id}/rewind`).send({ turn: 0 });
    expect([busy.status, busy.body.error?.code]).toEqual([409, 'SESSION_NOT_ACTIVE']);
    await events.waitForResults(2);
    expect((await api().get('/v1/sessions').expect(200)).body).toHaveLength(
      sessionsBefore.length + 1,
    );
    await api().delete(`/v1/sessions/${id}`).expect(200);
  });

  it('forks and rewinds over Socket.IO', async () => {
    const { session, events } = await create({
      query: '[[bash echo ws > w.txt]]',
      cwd: 'repo',
      isolation: 'worktree',
    });
    await checkpointOf(events, 1);
    await events.waitFor((all) => lastStatus(all) === 'idle');
    const fork = await wsRequest<{ session: SessionResource }>(socket, 'session:fork', {
      sessionId: session.id,
    });
    expect(fork).toMatchObject({ ok: true, session: { forkedFrom: { turn: 1 } } });
    if (!fork.ok) return;
    expect(readFileSync(join(fork.session.cwd, 'w.txt'), 'utf8')).toBe('ws\n');
    const rewind = await wsRequest<RewindResult>(socket, 'session:rewind', {
      sessionId: session.id,
      turn: 0,
    });
    expect(rewind).toMatchObject({ ok: true, turn: 0, filesChanged: 1 });
    expect(existsSync(join(session.cwd, 'w.txt'))).toBe(false);
    const bad = await wsRequest(socket, 'session:fork', { sessionId: session.id, turn: 3 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'CHECKPOINT_NOT_FOUND' } });
    for (const id of [session.id, fork.session.id]) {
      await api().delete(`/v1/sessions/${id}`).expect(200);
    }
  });
});

function lastStatus(events: SessionEvent[]): string | undefined {
  const statuses = events.filter((e) => e.type === 'status');
  const last = statuses[statuses.length - 1];
  return last?.type === 'status' ? last.to : undefined;
}
