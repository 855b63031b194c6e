import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { Checkpoint, SessionDiff, SessionEvent, SessionResource } from '@jelmore/contracts';
import { ChatRequest, FakeOpenAIServer } from './fixtures/fake-openai';
import { TestServer } from './support/app';
import { branches, makeRepository, worktreeFolders } from './support/git';
import { requestsTo, startOpencodeTestServer } from './support/opencode';
import { connect, EventCollector, request as wsRequest, startSession } from './support/ws-client';

/**
 * Fork, checkpoints and rewind with the bespoke `opencode` provider (a real `opencode serve` per
 * session) against the fake OpenAI-compatible API: opencode's bash tool writes the files, its own
 * session fork copies the conversation, Jelmore's worktrees and checkpoints hold the files.
 */
describe('Fork, checkpoints and worktrees (OpenCode)', () => {
  const models = new FakeOpenAIServer();
  let server: TestServer;
  let socket: Socket;
  let root: string;
  let repo: string;

  beforeAll(async () => {
    server = await startOpencodeTestServer(models);
    socket = await connect(server.url);
    root = join(server.dir, 'workspace');
    repo = join(root, 'repo');
    makeRepository(repo, { 'README.md': '# demo\n' });
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
  });

  const api = () => request(server.url);

  /** How many checkpoints of `turn` arrived: a rewound session records a turn's number again. */
  const checkpointsOf = (all: SessionEvent[], turn: number) =>
    all.filter((e) => e.type === 'checkpoint' && e.turn === turn).length;

  /** The one model request of the turn whose prompt says `marker` (title requests carry no tools). */
  function requestSaying(marker: string): ChatRequest {
    const found = requestsTo(models, marker);
    expect(found).toHaveLength(1);
    return found[0];
  }

  const conversation = (body: ChatRequest) => JSON.stringify(body.messages);

  async function input(sessionId: string, text: string): Promise<void> {
    await api().post(`/v1/sessions/${sessionId}/input`).send({ text }).expect(202);
  }

  // Five opencode servers start, 6–10 s each: the session's, the fork's, the parent's again after its
  // rewind, and a short-lived one each to fork and to cut the conversation. About 60 s in all.
  it('records each turn, diffs them, forks at turn 1 and rewinds to it', async () => {
    const { session, events } = await startSession(socket, {
      provider: 'opencode',
      query: '[[bash echo one > a.txt]] alpha-turn',
      cwd: 'repo',
      isolation: 'worktree',
    });
    expect(session).toMatchObject({
      provider: 'opencode',
      isolation: 'worktree',
      cwd: join(root, session.id),
    });
    await events.waitFor((all) => checkpointsOf(all, 1) === 1, 60_000);
    await input(session.id, '[[bash echo two > b.txt]] beta-turn');
    await events.waitFor((all) => checkpointsOf(all, 2) === 1);
    expect(events.ofType('tool_use').map((t) => t.input)).toMatchObject([
      { command: 'echo one > a.txt' },
      { command: 'echo two > b.txt' },
    ]);
    expect(readFileSync(join(session.cwd, 'b.txt'), 'utf8')).toBe('two\n');
    expect(existsSync(join(repo, 'a.txt'))).toBe(false);

    const checkpoints = (await api().get(`/v1/sessions/${session.id}/checkpoints`).expect(200))
      .body as Checkpoint[];
    expect(checkpoints.map((c) => [c.turn, c.filesChanged])).toEqual([
      [0, 0],
      [1, 1],
      [2, 1],
    ]);
    const diff = (await api().get(`/v1/sessions/${session.id}/diff`).expect(200))
      .body as SessionDiff;
    expect(diff.files).toEqual([
      { path: 'a.txt', status: 'added', additions: 1, deletions: 0 },
      { path: 'b.txt', status: 'added', additions: 1, deletions: 0 },
    ]);

    // Fork at turn 1: turn 1's files in a worktree of its own, and an opencode session holding turn 1.
    const forked = await api().post(`/v1/sessions/${session.id}/fork`).send({ turn: 1 });
    expect([forked.status, forked.body.error]).toEqual([201, undefined]);
    const fork = forked.body as SessionResource;
    expect(fork).toMatchObject({
      provider: 'opencode',
      parentId: session.id,
      forkedFrom: { sessionId: session.id, turn: 1 },
      state: 'idle',
      cwd: join(root, fork.id),
      worktree: { branch: `jelmore/${fork.id}` },
    });
    expect(readFileSync(join(fork.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(fork.cwd, 'b.txt'))).toBe(false);
    const forkEvents = new EventCollector(socket, fork.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: fork.id });
    await input(fork.id, 'gamma-turn');
    // A fork's turns go on from the turn it was forked at.
    await forkEvents.waitFor((all) => checkpointsOf(all, 2) === 1, 60_000);
    expect(forkEvents.ofType('error')).toEqual([]);
    const forkRequest = conversation(requestSaying('gamma-turn'));
    expect(forkRequest).toContain('alpha-turn');
    expect(forkRequest).not.toContain('beta-turn');
    // The parent is as it was.
    expect(readFileSync(join(session.cwd, 'b.txt'), 'utf8')).toBe('two\n');

    // Rewind the parent to turn 1: b.txt goes, and its conversation forgets turn 2.
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
    // Its next turn is turn 2 again.
    await events.waitFor((all) => checkpointsOf(all, 2) === 2, 60_000);
    const afterRewind = conversation(requestSaying('delta-turn'));
    expect(afterRewind).toContain('alpha-turn');
    expect(afterRewind).not.toContain('beta-turn');
    expect(events.ofType('error')).toEqual([]);

    // Ending each removes its worktree and its branch (no commits of its own).
    for (const each of [session, fork]) {
      const ended = (await api().delete(`/v1/sessions/${each.id}`).expect(200))
        .body as SessionResource;
      expect(ended.worktreeRemoved).toEqual({ branch: `jelmore/${each.id}`, branchKept: false });
      expect(existsSync(each.cwd)).toBe(false);
    }
    expect(worktreeFolders(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(['main']);
  }, 150_000);
});
