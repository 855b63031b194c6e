import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@jelmore/contracts';
import { CheckpointStore } from './checkpoint-store';
import { GitRunner } from './git-runner';
import { makeRepo, plantTraps, sh, sprung, tempDir, write } from './git.spec-helpers';
import { findRepository, Repository } from './repository';
import { Worktrees } from './worktrees';

jest.setTimeout(10_000);

const BINARY = Buffer.from([0, 1, 2, 3, 255, 0, 7]);

describe('CheckpointStore', () => {
  const git = new GitRunner();
  let dir: string;
  let repoDir: string;
  let repo: Repository;
  let store: CheckpointStore;
  let id: string;

  let template: string;

  // One repository made with git, copied for each test (spawning git is most of a test's time).
  beforeAll(() => {
    template = tempDir();
    const made = makeRepo(template, {
      'a.txt': 'a\n',
      'src/m.txt': 'm1\nm2\n',
      'bin.dat': BINARY,
      '.gitignore': '*.log\nignored/\n',
    });
    write(made, { 'keep.log': 'tracked though ignored\n' });
    sh(made, 'add', '-f', 'keep.log');
    sh(made, 'commit', '-q', '-m', 'keep');
    write(made, { 'u.txt': 'untracked\n', 'x.log': 'ignored\n', 'ignored/y.txt': 'y\n' });
  });
  afterAll(() => rmSync(template, { recursive: true, force: true }));

  beforeEach(async () => {
    dir = tempDir();
    repoDir = join(dir, 'repo');
    cpSync(join(template, 'repo'), repoDir, { recursive: true });
    repo = (await findRepository(git, repoDir))!;
    store = new CheckpointStore(git, join(dir, 'checkpoints'));
    id = randomUUID();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const files = (commit: string) =>
    sh(repoDir, '--git-dir', storeDir(), 'ls-tree', '-r', '--name-only', commit).split('\n');
  const storeDir = () => join(dir, 'checkpoints', readStores()[0]);
  const readStores = () => readdirSync(join(dir, 'checkpoints'));
  const userState = () => ({
    status: sh(repoDir, 'status', '--porcelain'),
    head: sh(repoDir, 'rev-parse', 'HEAD'),
    // Staged content: stat data changes with the files (git status refreshes it).
    index: sh(repoDir, 'ls-files', '--stage'),
    refs: sh(repoDir, 'for-each-ref'),
  });

  it('records tracked and untracked files, not ignored ones, in a store of its own', async () => {
    const before = userState();
    const { commit, filesChanged } = await store.record(repo, id, 0);
    expect(filesChanged).toBe(0);
    expect(files(commit).sort()).toEqual(
      ['.gitignore', 'a.txt', 'bin.dat', 'keep.log', 'src/m.txt', 'u.txt'].sort(),
    );
    expect(await store.refs(repo, id)).toEqual([{ turn: 0, commit }]);
    expect(userState()).toEqual(before);
    // The store borrows the repository's objects, runs no hooks, and is no part of the repository.
    const storePath = await store.storeOf(repo);
    expect(readFileSync(join(storePath, 'objects/info/alternates'), 'utf8')).toBe(
      `${repo.commonDir}/objects\n`,
    );
    expect(readlinkSync(join(storePath, 'info/exclude'))).toBe(`${repo.commonDir}/info/exclude`);
    expect(sh(repoDir, 'for-each-ref', 'refs/jelmore')).toBe('');
  });

  it('counts the files changed since the parent checkpoint', async () => {
    const zero = await store.record(repo, id, 0);
    const same = await store.record(repo, id, 1, zero.commit);
    // Nothing changed: the checkpoint is the parent's commit.
    expect(same).toEqual({ commit: zero.commit, filesChanged: 0 });
    write(repoDir, { 'a.txt': 'A\n', 'b.txt': 'b\n', 'x.log': 'still ignored\n' });
    rmSync(join(repoDir, 'src/m.txt'));
    const two = await store.record(repo, id, 2, same.commit);
    expect(two.filesChanged).toBe(3);
    expect(sh(repoDir, '--git-dir', storeDir(), 'log', '--format=%an <%ae> %s', two.commit)).toBe(
      ['Jelmore <jelmore@localhost> turn 2', 'Jelmore <jelmore@localhost> turn 0'].join('\n'),
    );
    // A store that did not make the parent (a restarted server) looks its tree up.
    const restarted = new CheckpointStore(git, join(dir, 'checkpoints'));
    expect(await restarted.record(repo, id, 3, two.commit)).toEqual({
      commit: two.commit,
      filesChanged: 0,
    });
    write(repoDir, { 'a.txt': 'a\n' });
    expect((await restarted.record(repo, id, 4, two.commit)).filesChanged).toBe(1);
    expect((await store.refs(repo, id)).map((r) => r.turn)).toEqual([0, 1, 2, 3, 4]);
  });

  it('diffs checkpoints and the files now, as JSON and a patch', async () => {
    const zero = await store.record(repo, id, 0);
    write(repoDir, { 'a.txt': 'A\nmore\n', 'b.txt': 'b\n', 'bin.dat': Buffer.from([9, 0, 9]) });
    rmSync(join(repoDir, 'src/m.txt'));
    const now = await store.diff(repo, id, zero.commit, 'worktree');
    expect(now.files).toEqual([
      { path: 'a.txt', status: 'modified', additions: 2, deletions: 1 },
      { path: 'b.txt', status: 'added', additions: 1, deletions: 0 },
      { path: 'bin.dat', status: 'modified', additions: null, deletions: null },
      { path: 'src/m.txt', status: 'deleted', additions: 0, deletions: 2 },
    ]);
    expect(now.patch).toContain('diff --git a/a.txt b/a.txt\n');
    expect(now.patch).toContain('--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+b\n');
    expect(now.patch).toContain('Binary files a/bin.dat and b/bin.dat differ');
    const one = await store.record(repo, id, 1, zero.commit);
    expect(await store.diff(repo, id, zero.commit, one.commit)).toEqual(now);
    expect(await store.diff(repo, id, one.commit, 'worktree')).toEqual({ files: [], patch: '' });
  });

  it('restores a checkpoint: only the session’s files, never the user’s HEAD or index', async () => {
    const before = userState();
    const zero = await store.record(repo, id, 0);
    write(repoDir, { 'a.txt': 'changed\n', 'b.txt': 'new\n', 'x.log': 'ignored, changed\n' });
    rmSync(join(repoDir, 'src/m.txt'));
    const one = await store.record(repo, id, 1, zero.commit);

    expect(await store.restore(repo, id, zero.commit)).toEqual({ filesChanged: 3 });
    expect(readFileSync(join(repoDir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(readFileSync(join(repoDir, 'src/m.txt'), 'utf8')).toBe('m1\nm2\n');
    expect(existsSync(join(repoDir, 'b.txt'))).toBe(false);
    expect(readFileSync(join(repoDir, 'x.log'), 'utf8')).toBe('ignored, changed\n');
    expect(existsSync(join(repoDir, 'ignored/y.txt'))).toBe(true);
    expect(userState()).toEqual(before);
    const preRewind = sh(
      repoDir,
      '--git-dir',
      storeDir(),
      'rev-parse',
      `refs/jelmore/${id}/pre-rewind^{tree}`,
    );
    expect(preRewind).toBe(
      sh(repoDir, '--git-dir', storeDir(), 'rev-parse', `${one.commit}^{tree}`),
    );
    // Restoring again changes nothing.
    expect(await store.restore(repo, id, zero.commit)).toEqual({ filesChanged: 0 });
  });

  it('refuses a commit that is no checkpoint', async () => {
    await expect(store.restore(repo, id, 'f'.repeat(40))).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });
    await expect(store.restore(repo, id, '--all')).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });
  });

  it('drops later turns, and forgets a whole session', async () => {
    const zero = await store.record(repo, id, 0);
    const one = await store.record(repo, id, 1, zero.commit);
    await store.record(repo, id, 2, one.commit);
    await store.dropAfter(repo, id, 1);
    expect((await store.refs(repo, id)).map((r) => r.turn)).toEqual([0, 1]);
    const other = randomUUID();
    await store.record(repo, other, 0);
    await store.removeSession(repo, id);
    expect(await store.refs(repo, id)).toEqual([]);
    expect(existsSync(join(await store.storeOf(repo), 'jelmore', `${id}.index`))).toBe(false);
    expect(await store.refs(repo, other)).toHaveLength(1);
  });

  it('materializes a checkpoint into a fork’s fresh worktree', async () => {
    const worktrees = new Worktrees(git);
    const [parent, child] = [randomUUID(), randomUUID()];
    const { base } = await worktrees.add(repo, { sessionId: parent, dir: join(dir, parent) });
    const parentRepo = (await findRepository(git, join(dir, parent)))!;
    write(parentRepo.topLevel, { 'a.txt': 'parent\n', 'new/p.txt': 'p\n' });
    rmSync(join(parentRepo.topLevel, 'bin.dat'));
    const turn = await store.record(parentRepo, parent, 1);
    write(parentRepo.topLevel, { 'a.txt': 'later\n' });

    await worktrees.add(repo, { sessionId: child, dir: join(dir, child), baseRef: base });
    const childRepo = (await findRepository(git, join(dir, child)))!;
    expect(await store.materialize(parentRepo, turn.commit, childRepo)).toEqual({
      filesChanged: 3,
    });
    expect(readFileSync(join(dir, child, 'a.txt'), 'utf8')).toBe('parent\n');
    expect(readFileSync(join(dir, child, 'new/p.txt'), 'utf8')).toBe('p\n');
    expect(existsSync(join(dir, child, 'bin.dat'))).toBe(false);
    expect(readFileSync(join(dir, parent, 'a.txt'), 'utf8')).toBe('later\n');
    const status = sh(join(dir, child), 'status', '--porcelain').split('\n');
    expect(status.map((line) => line.trim()).sort()).toEqual(['?? new/', 'D bin.dat', 'M a.txt']);
  });

  it('lets two sessions of a repository checkpoint at once', async () => {
    const worktrees = new Worktrees(git);
    const ids = [randomUUID(), randomUUID()];
    const repos = await Promise.all(
      ids.map(async (sessionId, i) => {
        await worktrees.add(repo, { sessionId, dir: join(dir, sessionId) });
        write(join(dir, sessionId), { 'a.txt': `session ${i}\n` });
        return (await findRepository(git, join(dir, sessionId)))!;
      }),
    );
    const recorded = await Promise.all([
      ...repos.map((r, i) => store.record(r, ids[i], 1)),
      store.diff(repos[0], ids[0], repo.head!, 'worktree'),
    ]);
    expect(recorded[0]).not.toEqual(recorded[1]);
    expect(readStores()).toHaveLength(1);
    const show = (commit: string) =>
      sh(repoDir, '--git-dir', storeDir(), 'show', `${commit}:a.txt`);
    expect(show((recorded[0] as { commit: string }).commit)).toBe('session 0');
    expect(show((recorded[1] as { commit: string }).commit)).toBe('session 1');
  });

  it('copes with an index it cannot borrow (split index) and with nested repositories', async () => {
    sh(repoDir, 'update-index', '--split-index');
    makeRepo(join(repoDir, 'vendor'), { 'n.txt': 'nested\n' });
    const { commit } = await store.record(repo, id, 0);
    expect(files(commit)).toEqual(expect.arrayContaining(['a.txt', 'u.txt', 'vendor/repo']));
  });

  it('runs nothing of a hostile repository', async () => {
    const markers = join(dir, 'markers');
    plantTraps(repoDir, markers);
    const zero = await store.record(repo, id, 0);
    write(repoDir, { 'a.txt': 'changed\n', 'z.proc': 'process me\n' });
    const one = await store.record(repo, id, 1, zero.commit);
    await store.diff(repo, id, zero.commit, 'worktree');
    await store.diff(repo, id, zero.commit, one.commit);
    await store.restore(repo, id, zero.commit);
    expect(readFileSync(join(repoDir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(sprung(markers)).toEqual([]);
  });
});
