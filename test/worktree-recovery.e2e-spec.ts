import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { FakeAnthropicServer } from './fixtures/fake-anthropic';
import { branches, git, makeRepository, worktreeFolders } from './support/git';
import { freePort, ServerProcess } from './support/server-process';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

describe('Worktrees across a SIGKILL of the server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-worktree-crash-'));
  const root = join(dir, 'workspace');
  const repo = join(root, 'repo');
  const fake = new FakeAnthropicServer({ slowDelayMs: 50 });
  let server: ServerProcess;

  beforeAll(async () => {
    makeRepository(repo, { 'README.md': '# crash\n' });
    const fakeUrl = await fake.start();
    server = new ServerProcess(await freePort(), {
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: root,
      JELMORE_DEFAULT_ISOLATION: 'worktree',
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the worktree of a session that can go on, and removes those nobody owns', async () => {
    // JELMORE_DEFAULT_ISOLATION gives the session a worktree without asking.
    const created = await request(server.url)
      .post('/v1/sessions')
      .send({ query: '[[slow 400]]', cwd: 'repo' })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session.isolation).toBe('worktree');
    const socket = await connect(server.url);
    const seen = new EventCollector(socket, session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: session.id });
    await seen.waitFor((events) => events.filter((e) => e.type === 'assistant').length >= 5);

    await server.kill('SIGKILL');
    socket.disconnect();
    // As if the server had died between making a worktree and keeping its session.
    const orphan = randomUUID();
    git(repo, 'worktree', 'add', '-q', '-b', `jelmore/${orphan}`, join(root, orphan));
    expect(worktreeFolders(repo)).toHaveLength(3);

    await server.start();
    const after = (await request(server.url).get(`/v1/sessions/${session.id}`).expect(200))
      .body as SessionResource;
    expect(after.state).toBe('interrupted');
    // The interrupted session's worktree stays for its resume; the orphan is gone with its branch.
    expect(worktreeFolders(repo)).toEqual([repo, session.cwd]);
    expect(existsSync(join(root, orphan))).toBe(false);
    expect(branches(repo)).toEqual([`jelmore/${session.id}`, 'main']);

    const resumed = await request(server.url).post(`/v1/sessions/${session.id}/resume`).expect(200);
    expect(resumed.body).toMatchObject({ state: 'idle', cwd: session.cwd });
    const ends = await request(server.url).delete(`/v1/sessions/${session.id}`).expect(200);
    expect(ends.body.worktreeRemoved).toEqual({
      branch: `jelmore/${session.id}`,
      branchKept: false,
    });
    expect(worktreeFolders(repo)).toEqual([repo]);
    expect(branches(repo)).toEqual(['main']);
  });
});
