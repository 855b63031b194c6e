import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionDiff } from '@jelmore/contracts';
import { JelmoreClient } from '@jelmore/client';
import { startTestServer, TestServer } from './support/app';
import { jelmore, UUID } from './support/cli';
import { branches, git, makeRepository } from './support/git';
import { waitUntil } from './support/processes';

const KEY = 'cli-key-0123456789abcdef';

describe('jelmore run --worktree, diff, fork and rewind (built CLI, Claude Code CLI, fake model API)', () => {
  let server: TestServer;
  let api: JelmoreClient;
  let env: Record<string, string>;
  let repo: string;

  beforeAll(async () => {
    server = await startTestServer({
      // A tenant key: its sessions may work in the shared folder, where the repository is.
      env: { JELMORE_API_KEYS: `cli:${KEY}`, JELMORE_SHARED_WORKSPACE: 'shared' },
    });
    api = new JelmoreClient({ url: server.url, apiKey: KEY });
    env = { JELMORE_SERVER: server.url, JELMORE_API_KEY: KEY };
    repo = join(server.dir, 'workspace', 'shared', 'repo');
    makeRepository(repo, { 'README.md': '# demo\n' });
  });

  afterAll(async () => {
    api?.close();
    await server?.close();
  });

  it('run --worktree names the branch and waits for the checkpoint; diff, fork and rewind act on it', async () => {
    const run = await jelmore(
      ['run', '--keep', '--worktree', '--cwd', 'shared/repo', '[[bash echo one > a.txt]] alpha'],
      env,
    );
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const id = UUID.exec(run.stderr)![0];
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`session ${id} · claude · claude-sonnet-5-5 · worktree jelmore/${id}`);
    // The turn's checkpoint comes after its result; run stays for it before it lets go.
    const first = (await api.checkpoints(id))[1];
    const done = lines.findIndex((l) => l.startsWith('✓ done in'));
    const checkpoint = lines.indexOf(`✓ checkpoint turn 1 · 1 file · ${first.commit.slice(0, 7)}`);
    expect(done).toBeGreaterThan(0);
    expect(checkpoint).toBeGreaterThan(done);
    expect(lines.at(-1)).toBe(
      `session ${id} kept: jelmore attach ${id} · jelmore diff ${id} · jelmore kill ${id}`,
    );
    const session = await api.getSession(id);
    expect(session).toMatchObject({ state: 'idle', worktree: { branch: `jelmore/${id}` } });
    expect(existsSync(join(repo, 'a.txt'))).toBe(false);

    expect(await jelmore(['send', id, '[[bash echo two > b.txt]] beta'], env)).toMatchObject({
      code: 0,
    });
    expect(await waitUntil(async () => (await api.checkpoints(id)).length === 3)).toBe(true);

    const stat = await jelmore(['diff', id, '--stat'], env);
    expect(stat).toMatchObject({ code: 0, stderr: '' });
    expect(stat.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^STATUS +\+ +- +PATH$/),
      expect.stringMatching(/^added +\+1 +-0 +a\.txt$/),
      expect.stringMatching(/^added +\+1 +-0 +b\.txt$/),
      '2 files changed (turn 0 → now) · +2 -0',
    ]);

    const turnOne = await jelmore(['diff', id, '--turn', '1'], env);
    expect(turnOne).toMatchObject({ code: 0, stderr: '' });
    expect(turnOne.stdout).toBe(await api.patch(id, { from: 0, to: 1 }));
    expect(turnOne.stdout).toContain('+++ b/a.txt\n@@ -0,0 +1 @@\n+one\n');
    expect(turnOne.stdout).not.toContain('b.txt');

    const json = await jelmore(['diff', id, '--json'], env);
    expect(json.code).toBe(0);
    const diff = JSON.parse(json.stdout) as SessionDiff;
    expect(diff).toEqual(await api.diff(id));
    expect(diff).toMatchObject({
      from: 0,
      files: [
        { path: 'a.txt', status: 'added', additions: 1, deletions: 0 },
        { path: 'b.txt', status: 'added', additions: 1, deletions: 0 },
      ],
    });
    expect(diff.to).toBeUndefined();

    const forked = await jelmore(['fork', id, '--turn', '1'], env);
    expect(forked).toMatchObject({ code: 0, stderr: '' });
    const [head, row] = forked.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^ID +STATE +PROVIDER +MODEL +PARENT +TURN +BRANCH$/);
    const forkId = UUID.exec(row)![0];
    expect(row.split(/ +/)).toEqual([
      forkId,
      'idle',
      'claude',
      'claude-sonnet-5-5',
      id,
      '1',
      `jelmore/${forkId}`,
    ]);
    const fork = await api.getSession(forkId);
    expect(fork).toMatchObject({ parentId: id, forkedFrom: { sessionId: id, turn: 1 } });
    expect(readFileSync(join(fork.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(fork.cwd, 'b.txt'))).toBe(false);

    const rewound = await jelmore(['rewind', id, '--turn', '0'], env);
    expect(rewound).toMatchObject({
      code: 0,
      stderr: '',
      stdout: `${id} idle · rewound to turn 0 · 2 files changed · conversation kept (turn 0 has none to cut back to)\n`,
    });
    expect(existsSync(join(session.cwd, 'a.txt'))).toBe(false);
    expect(existsSync(join(session.cwd, 'b.txt'))).toBe(false);
    // What `diff` printed is a patch git applies: turn 1's file comes back.
    writeFileSync(join(server.dir, 'turn-1.patch'), turnOne.stdout);
    git(session.cwd, 'apply', join(server.dir, 'turn-1.patch'));
    expect(readFileSync(join(session.cwd, 'a.txt'), 'utf8')).toBe('one\n');

    const missing = await jelmore(['rewind', id, '--turn', '9'], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^jelmore: CHECKPOINT_NOT_FOUND: /);

    // kill says what became of each worktree: no commits on the branches, so they go.
    for (const each of [forkId, id]) {
      const killed = await jelmore(['kill', each], env);
      expect(killed).toMatchObject({ code: 0, stderr: '' });
      expect(killed.stdout.split('\n')[1]).toBe(
        `worktree removed · branch jelmore/${each} deleted (no commits)`,
      );
    }
    expect(branches(repo)).toEqual(['main']);
  });

  it('run --worktree without --keep removes the worktree when it terminates the session', async () => {
    const run = await jelmore(['run', '--worktree', '--cwd', 'shared/repo', 'hello'], env);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(run.stdout).toBe('Echo: hello\n');
    const id = UUID.exec(run.stderr)![0];
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.at(-3)).toMatch(/^✓ checkpoint turn 1 · 0 files · [0-9a-f]{7}$/);
    expect(lines.at(-2)).toMatch(new RegExp(`^session ${id} terminated · `));
    expect(lines.at(-1)).toBe(`worktree removed · branch jelmore/${id} deleted (no commits)`);
    expect(existsSync(join(server.dir, 'workspace', id))).toBe(false);
  });

  it('refuses bad turns and options, and a worktree outside a repository', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    const zero = await jelmore(['fork', id, '--turn', '0'], env);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('expected a whole number above 0');
    const both = await jelmore(['diff', id, '--turn', '2', '--from', '0'], env);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain("option '--turn <n>' cannot be used with option '--from <turn>'");
    const noTurn = await jelmore(['rewind', id], env);
    expect(noTurn.code).toBe(1);
    expect(noTurn.stderr).toContain("required option '--turn <n>' not specified");
    const before = (await api.listSessions()).length;
    const outside = await jelmore(['run', '--worktree', 'x'], env);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toMatch(/^jelmore: WORKTREE_UNAVAILABLE: /);
    expect((await api.listSessions()).length).toBe(before);
  });
});
