import { rmSync } from 'node:fs';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { GitError, GitRunner } from './git-runner';
import { makeRepo, tempDir } from './git.spec-helpers';

jest.setTimeout(10_000);

describe('GitRunner', () => {
  const git = new GitRunner();
  let dir: string;
  let repo: string;

  beforeAll(() => {
    dir = tempDir();
    repo = makeRepo(dir, { 'a.txt': 'a\n' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs git and returns its output', async () => {
    const result = await git.run(['rev-parse', '--is-inside-work-tree'], { cwd: repo });
    expect(result).toEqual({ stdout: Buffer.from('true\n'), stderr: '', code: 0 });
  });

  it('passes input on stdin', async () => {
    const sha = await git.text(['hash-object', '--stdin'], { cwd: repo, input: 'a\n' });
    expect(sha).toBe('78981922613b2afb6025042ff6bd878ac1994e85');
  });

  it('ignores GIT_* variables of its own environment', async () => {
    process.env.GIT_DIR = '/nonexistent';
    process.env.GIT_WORK_TREE = '/nonexistent';
    try {
      expect(await git.text(['rev-parse', '--show-toplevel'], { cwd: repo })).toBe(repo);
      expect(await git.text(['config', 'core.fsmonitor'], { cwd: repo })).toBe('false');
    } finally {
      delete process.env.GIT_DIR;
      delete process.env.GIT_WORK_TREE;
    }
  });

  it('sets a safe environment', async () => {
    const env = await git.text(['var', 'GIT_PAGER'], { cwd: repo });
    expect(env).toBe('cat');
  });

  it('fails with GitError: the subcommand, git’s first line, the command and stderr', async () => {
    const err: unknown = await git
      .run(['rev-parse', '--verify', 'nope'], { cwd: repo })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    const gitError = err as GitError;
    expect(gitError.code).toBe(ErrorCode.GitFailed);
    expect(gitError.message).toBe('git rev-parse failed: fatal: Needed a single revision');
    expect(gitError.details).toEqual({
      command: 'git rev-parse --verify nope',
      stderr: 'fatal: Needed a single revision',
    });
  });

  it('takes other exit codes as success when told', async () => {
    const result = await git.run(['rev-parse', '-q', '--verify', 'nope'], {
      cwd: repo,
      okCodes: [0, 1],
    });
    expect(result.code).toBe(1);
  });

  it('trims huge stderr in the error details', async () => {
    const err = (await git
      .run(['rev-parse', '--verify', 'x'.repeat(5000)], { cwd: repo })
      .catch((e: unknown) => e)) as GitError;
    expect((err.details!.command as string).length).toBeLessThan(2100);
  });

  it('says to install git when there is none', async () => {
    const err = (await new GitRunner('/nonexistent/git')
      .run(['--version'])
      .catch((e: unknown) => e)) as JelmoreError;
    expect(err).toBeInstanceOf(JelmoreError);
    expect(err.code).toBe(ErrorCode.GitFailed);
    expect(err.message).toMatch(/git is not installed.*install git/);
  });
});
