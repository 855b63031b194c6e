import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from '@jelmore/contracts';
import { GitRunner } from './git-runner';
import { clearTraps, makeRepo, plantTraps, sh, sprung, tempDir } from './git.spec-helpers';
import { busyReason, findRepository, neutralizedFilters, resolveCommit } from './repository';

jest.setTimeout(10_000);

describe('repository', () => {
  const git = new GitRunner();
  let dir: string;
  let repo: string;

  beforeEach(() => {
    dir = tempDir();
    repo = makeRepo(dir, { 'a.txt': 'a\n', 'sub/deep/b.txt': 'b\n' });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  describe('findRepository', () => {
    it('finds the repository from its top and from a folder in it', async () => {
      const head = sh(repo, 'rev-parse', 'HEAD');
      const top = { topLevel: repo, commonDir: join(repo, '.git'), gitDir: join(repo, '.git') };
      expect(await findRepository(git, repo)).toEqual({ ...top, prefix: '', head });
      expect(await findRepository(git, join(repo, 'sub', 'deep'))).toEqual({
        ...top,
        prefix: 'sub/deep',
        head,
      });
    });

    it('is undefined outside any repository and in a bare one', async () => {
      expect(await findRepository(git, dir)).toBeUndefined();
      sh(dir, 'init', '-q', '--bare', 'bare.git');
      expect(await findRepository(git, join(dir, 'bare.git'))).toBeUndefined();
    });

    it('has no head on an unborn branch', async () => {
      const empty = makeRepo(tempDir());
      try {
        expect((await findRepository(git, empty))?.head).toBeUndefined();
      } finally {
        rmSync(join(empty, '..'), { recursive: true, force: true });
      }
    });

    it('refuses a repository whose config moves its working tree (core.worktree)', async () => {
      sh(repo, 'config', 'core.worktree', dir);
      expect(await findRepository(git, repo)).toBeUndefined();
      sh(repo, 'config', 'core.worktree', join(dir, 'elsewhere'));
      expect(await findRepository(git, repo)).toBeUndefined();
    });

    it('says so when the folder is missing', async () => {
      await expect(findRepository(git, join(dir, 'missing'))).rejects.toThrow(
        /cannot run in .*missing: no such folder/,
      );
    });

    it('tells a linked worktree’s own git dir from the common one', async () => {
      sh(repo, 'worktree', 'add', '-q', join(dir, 'wt'));
      const found = await findRepository(git, join(dir, 'wt'));
      expect(found).toMatchObject({
        topLevel: join(dir, 'wt'),
        commonDir: join(repo, '.git'),
        gitDir: join(repo, '.git', 'worktrees', 'wt'),
      });
    });
  });

  it('busyReason names an operation in progress', async () => {
    const found = (await findRepository(git, repo))!;
    expect(busyReason(found)).toBeUndefined();
    writeFileSync(join(found.gitDir, 'MERGE_HEAD'), sh(repo, 'rev-parse', 'HEAD'));
    expect(busyReason(found)).toBe('a merge is in progress');
    rmSync(join(found.gitDir, 'MERGE_HEAD'));
    mkdirSync(join(found.gitDir, 'rebase-merge'));
    expect(busyReason(found)).toBe('a rebase is in progress');
  });

  it('resolveCommit resolves names of commits only', async () => {
    const found = (await findRepository(git, repo))!;
    const head = sh(repo, 'rev-parse', 'HEAD');
    expect(await resolveCommit(git, found, 'main')).toBe(head);
    expect(await resolveCommit(git, found, 'HEAD')).toBe(head);
    expect(await resolveCommit(git, found, head.slice(0, 8))).toBe(head);
    expect(await resolveCommit(git, found, 'nope')).toBeUndefined();
    expect(await resolveCommit(git, found, 'HEAD:a.txt')).toBeUndefined();
    expect(await resolveCommit(git, found, '--output=/tmp/x')).toBeUndefined();
  });

  describe('neutralizedFilters', () => {
    it('switches off the filter drivers of the repository’s config, not the user’s', async () => {
      const home = join(dir, 'home');
      mkdirSync(home);
      writeFileSync(join(home, '.gitconfig'), '[filter "lfs"]\n\tclean = git-lfs clean -- %f\n');
      sh(repo, 'config', 'filter.evil.clean', 'evil');
      sh(repo, 'config', 'filter.a.b.process', 'evil');
      const saved = process.env.HOME;
      process.env.HOME = home;
      try {
        const args = await neutralizedFilters(git, { topLevel: repo });
        expect(args).toEqual(
          ['evil', 'a.b'].flatMap((d) =>
            ['clean=', 'smudge=', 'process=', 'required=false'].flatMap((s) => [
              '-c',
              `filter.${d}.${s}`,
            ]),
          ),
        );
      } finally {
        process.env.HOME = saved;
      }
    });

    it('is empty without drivers', async () => {
      expect(await neutralizedFilters(git, { topLevel: repo })).toEqual([]);
    });

    it('refuses a driver that -c cannot name', async () => {
      sh(repo, 'config', 'filter.a=b.clean', 'evil');
      await expect(neutralizedFilters(git, { topLevel: repo })).rejects.toMatchObject({
        code: ErrorCode.WorktreeUnavailable,
      });
    });

    it('really switches the drivers off (git adds and checks out without them)', async () => {
      const markers = join(dir, 'markers');
      plantTraps(repo, markers);
      // The traps work: plain git runs them.
      writeFileSync(join(repo, 'a.txt'), 'changed\n');
      sh(repo, 'status', '--porcelain');
      sh(repo, 'hash-object', 'a.txt');
      expect(sprung(markers)).toEqual(expect.arrayContaining(['fsmonitor', 'clean']));
      clearTraps(markers);

      const found = (await findRepository(git, repo))!;
      const filters = await neutralizedFilters(git, found);
      writeFileSync(join(repo, 'y.proc'), 'new\n');
      await git.run([...filters, 'add', '-A'], { cwd: repo });
      rmSync(join(repo, 'a.txt'));
      await git.run([...filters, 'checkout', '-q', '--', '.'], { cwd: repo });
      await git.run([...filters, 'status', '--porcelain'], { cwd: repo });
      expect(sprung(markers)).toEqual([]);
    });
  });

  it('findRepository runs nothing of a hostile repository', async () => {
    const markers = join(dir, 'markers');
    plantTraps(repo, markers);
    expect(await findRepository(git, join(repo, 'sub'))).toBeDefined();
    expect(sprung(markers)).toEqual([]);
  });
});
