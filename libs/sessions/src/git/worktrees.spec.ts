import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@jelmore/contracts';
import { GitRunner } from './git-runner';
import { clearTraps, makeRepo, plantTraps, sh, sprung, tempDir } from './git.spec-helpers';
import { findRepository, Repository } from './repository';
import { Worktrees } from './worktrees';

jest.setTimeout(10_000);

describe('Worktrees', () => {
  const git = new GitRunner();
  const worktrees = new Worktrees(git);
  let dir: string;
  let repoDir: string;
  let repo: Repository;
  let root: string;

  beforeEach(async () => {
    dir = tempDir();
    repoDir = makeRepo(dir, { 'a.txt': 'a\n', 'src/b.txt': 'b\n' });
    repo = (await findRepository(git, repoDir))!;
    root = join(dir, 'workspace');
    mkdirSync(root);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const branches = () => sh(repoDir, 'branch', '--format=%(refname:short)').split('\n');
  const listed = () => sh(repoDir, 'worktree', 'list', '--porcelain');

  it('adds a worktree on jelmore/<id> from HEAD, and removes it with its unused branch', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    const added = await worktrees.add(repo, { sessionId, dir: wt });
    expect(added).toEqual({ branch: `jelmore/${sessionId}`, base: repo.head });
    expect(readFileSync(join(wt, 'src', 'b.txt'), 'utf8')).toBe('b\n');
    expect(sh(wt, 'rev-parse', '--abbrev-ref', 'HEAD')).toBe(`jelmore/${sessionId}`);
    expect(sh(repoDir, 'status', '--porcelain')).toBe('');

    writeFileSync(join(wt, 'a.txt'), 'uncommitted\n');
    const removed = await worktrees.remove(repo, { sessionId, dir: wt, base: added.base });
    expect(removed).toEqual({ removed: true, branch: added.branch, branchKept: false });
    expect(existsSync(wt)).toBe(false);
    expect(branches()).toEqual(['main']);
    expect(listed()).not.toContain(wt);
  });

  it('keeps the branch when the agent committed to it', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    const { base } = await worktrees.add(repo, { sessionId, dir: wt });
    writeFileSync(join(wt, 'c.txt'), 'c\n');
    sh(wt, 'add', 'c.txt');
    sh(wt, 'commit', '-q', '-m', 'c');
    const removed = await worktrees.remove(repo.commonDir, { sessionId, dir: wt, base });
    expect(removed).toMatchObject({ removed: true, branchKept: true });
    expect(branches()).toContain(`jelmore/${sessionId}`);
  });

  it('starts from baseRef', async () => {
    const first = repo.head!;
    writeFileSync(join(repoDir, 'a.txt'), 'second\n');
    sh(repoDir, 'commit', '-q', '-am', 'second');
    const sessionId = randomUUID();
    const added = await worktrees.add(repo, {
      sessionId,
      dir: join(root, sessionId),
      baseRef: 'HEAD~1',
    });
    expect(added.base).toBe(first);
    expect(readFileSync(join(root, sessionId, 'a.txt'), 'utf8')).toBe('a\n');
  });

  it('removes a worktree whose folder someone deleted', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    const { base } = await worktrees.add(repo, { sessionId, dir: wt });
    rmSync(wt, { recursive: true, force: true });
    // The user's worktree on a drive not mounted now: not Jelmore's to forget.
    sh(repoDir, 'worktree', 'add', '-q', '-b', 'usb', join(dir, 'usb'));
    rmSync(join(dir, 'usb'), { recursive: true, force: true });
    expect(await worktrees.remove(repo, { sessionId, dir: wt, base })).toMatchObject({
      removed: true,
      branchKept: false,
    });
    expect(listed()).not.toContain(wt);
    expect(listed()).toContain(join(dir, 'usb'));
    expect(branches()).toEqual(['main', 'usb']);
  });

  it('refuses a baseRef that names no commit, and leaves nothing', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    await expect(
      worktrees.add(repo, { sessionId, dir: wt, baseRef: 'no-such-branch' }),
    ).rejects.toMatchObject({
      code: ErrorCode.BaseRefNotFound,
      details: { baseRef: 'no-such-branch' },
    });
    await expect(worktrees.add(repo, { sessionId, dir: wt, baseRef: '-b' })).rejects.toMatchObject({
      code: ErrorCode.BaseRefNotFound,
    });
    expect(existsSync(wt)).toBe(false);
    expect(branches()).toEqual(['main']);
  });

  it('refuses a repository without commits', async () => {
    const other = tempDir();
    try {
      const empty = (await findRepository(git, makeRepo(other)))!;
      const sessionId = randomUUID();
      await expect(
        worktrees.add(empty, { sessionId, dir: join(root, sessionId) }),
      ).rejects.toMatchObject({ code: ErrorCode.WorktreeUnavailable });
      expect(existsSync(join(root, sessionId))).toBe(false);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('refuses a repository in the middle of a merge', async () => {
    writeFileSync(join(repo.gitDir, 'MERGE_HEAD'), `${repo.head}\n`);
    const sessionId = randomUUID();
    await expect(
      worktrees.add(repo, { sessionId, dir: join(root, sessionId) }),
    ).rejects.toMatchObject({ code: ErrorCode.WorktreeUnavailable, message: /merge/ });
  });

  it('leaves nothing behind when git fails, and no folder that was there before', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    mkdirSync(wt);
    writeFileSync(join(wt, 'mine.txt'), 'not yours\n');
    await expect(worktrees.add(repo, { sessionId, dir: wt })).rejects.toMatchObject({
      code: ErrorCode.GitFailed,
    });
    expect(readdirSync(wt)).toEqual(['mine.txt']);
    expect(branches()).toEqual(['main']);
    expect(listed()).not.toContain(wt);
  });

  it('deletes the branch it made when git fails after making it', async () => {
    const sessionId = randomUUID();
    // A folder git cannot make: the branch is made first, then the mkdir fails.
    const wt = join(root, 'file', sessionId);
    writeFileSync(join(root, 'file'), '');
    await expect(worktrees.add(repo, { sessionId, dir: wt })).rejects.toMatchObject({
      code: ErrorCode.GitFailed,
    });
    expect(branches()).toEqual(['main']);
  });

  it('takes an empty folder made for it', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    mkdirSync(wt);
    await worktrees.add(repo, { sessionId, dir: wt });
    expect(existsSync(join(wt, 'a.txt'))).toBe(true);
  });

  it('keeps two sessions’ worktrees apart', async () => {
    const [one, two] = [randomUUID(), randomUUID()];
    await worktrees.add(repo, { sessionId: one, dir: join(root, one) });
    await worktrees.add(repo, { sessionId: two, dir: join(root, two) });
    writeFileSync(join(root, one, 'a.txt'), 'one\n');
    writeFileSync(join(root, one, 'new.txt'), 'one\n');
    expect(readFileSync(join(root, two, 'a.txt'), 'utf8')).toBe('a\n');
    expect(existsSync(join(root, two, 'new.txt'))).toBe(false);
    expect(sh(join(root, two), 'status', '--porcelain')).toBe('');
    expect(sh(repoDir, 'status', '--porcelain')).toBe('');
  });

  it('orphans: removes the worktrees of sessions that are not live', async () => {
    const [live, dead, committed] = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of [live, dead, committed]) {
      await worktrees.add(repo, { sessionId: id, dir: join(root, id) });
    }
    writeFileSync(join(root, committed, 'c.txt'), 'c\n');
    sh(join(root, committed), 'add', 'c.txt');
    sh(join(root, committed), 'commit', '-q', '-m', 'c');
    sh(repoDir, 'worktree', 'add', '-q', '-b', 'users-own', join(dir, 'users-own'));

    const removed = await worktrees.orphans(repo, (id) => id === live);
    expect(removed.map((r) => [r.sessionId, r.branchKept]).sort()).toEqual(
      [
        [dead, false],
        [committed, true],
      ].sort(),
    );
    expect(existsSync(join(root, live))).toBe(true);
    expect(existsSync(join(root, dead))).toBe(false);
    expect(existsSync(join(dir, 'users-own'))).toBe(true);
    expect(branches().sort()).toEqual(
      ['main', 'users-own', `jelmore/${live}`, `jelmore/${committed}`].sort(),
    );
  });

  it('remove without base: the branch’s first reflog entry stands for it', async () => {
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    await worktrees.add(repo, { sessionId, dir: wt });
    expect(await worktrees.remove(repo, { sessionId, dir: wt })).toMatchObject({
      branchKept: false,
    });
  });

  it('runs nothing of a hostile repository', async () => {
    const markers = join(dir, 'markers');
    plantTraps(repoDir, markers);
    // The traps work: plain git runs them.
    sh(repoDir, 'worktree', 'add', '-q', join(dir, 'control'));
    expect(sprung(markers)).toEqual(
      expect.arrayContaining(['smudge', 'post-checkout', 'reference-transaction']),
    );
    sh(repoDir, 'worktree', 'remove', '--force', join(dir, 'control'));
    clearTraps(markers);

    const hostile = (await findRepository(git, repoDir))!;
    const sessionId = randomUUID();
    const wt = join(root, sessionId);
    const { base } = await worktrees.add(hostile, { sessionId, dir: wt });
    expect(readFileSync(join(wt, '.gitattributes'), 'utf8')).toContain('filter=evil');
    await worktrees.remove(hostile, { sessionId, dir: wt, base });
    expect(sprung(markers)).toEqual([]);
  });
});
