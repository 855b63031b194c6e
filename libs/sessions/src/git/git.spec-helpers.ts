import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Plain git, as a user (or an agent) runs it: the repository's config and hooks apply. */
export function sh(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
    },
  }).trim();
}

/** A real temporary folder. */
export function tempDir(prefix = 'jelmore-git-'): string {
  return realpathSync(mkdtempSync(join(tmpdir(), prefix)));
}

export function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

/** A repository at `<parent>/repo` with `files` committed (none: an unborn branch). */
export function makeRepo(parent: string, files: Record<string, string | Buffer> = {}): string {
  const dir = join(parent, 'repo');
  mkdirSync(dir, { recursive: true });
  sh(dir, 'init', '-q', '-b', 'main');
  if (Object.keys(files).length) {
    write(dir, files);
    sh(dir, 'add', '-A');
    sh(dir, 'commit', '-q', '-m', 'initial');
  }
  return dir;
}

/**
 * Makes `repo` hostile, as an agent could: an fsmonitor, filter drivers for every file (committed in
 * .gitattributes) and hooks, each a script that leaves a file in `markers` when it runs (the filters
 * pass their input through). The markers of the setup itself are cleared.
 */
export function plantTraps(repo: string, markers: string): void {
  mkdirSync(markers, { recursive: true });
  const script = (name: string, body: string) => {
    const path = join(markers, `${name}.sh`);
    writeFileSync(path, `#!/bin/sh\ntouch '${join(markers, name)}'\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  sh(repo, 'config', 'core.fsmonitor', script('fsmonitor', 'exit 1'));
  sh(repo, 'config', 'filter.evil.clean', script('clean', 'cat'));
  sh(repo, 'config', 'filter.evil.smudge', script('smudge', 'cat'));
  sh(repo, 'config', 'filter.evil.required', 'true');
  sh(repo, 'config', 'filter.other.process', script('process', 'exit 1'));
  // No *.proc file yet: a process filter that is no filter makes git die, so tests add one later.
  write(repo, { '.gitattributes': '* filter=evil\n*.proc filter=other\n' });
  sh(repo, 'add', '-A');
  sh(repo, 'commit', '-q', '-m', 'attributes');
  const hooks = join(sh(repo, 'rev-parse', '--absolute-git-dir'), 'hooks');
  mkdirSync(hooks, { recursive: true });
  for (const hook of HOOKS) {
    writeFileSync(join(hooks, hook), `#!/bin/sh\ntouch '${join(markers, hook)}'\n`);
    chmodSync(join(hooks, hook), 0o755);
  }
  clearTraps(markers);
}

export function clearTraps(markers: string): void {
  for (const name of TRAPS) rmSync(join(markers, name), { force: true });
}

const HOOKS = ['post-checkout', 'pre-commit', 'reference-transaction'];
const TRAPS = ['fsmonitor', 'clean', 'smudge', 'process', ...HOOKS];

/** The traps that went off. */
export function sprung(markers: string): string[] {
  return TRAPS.filter((name) => existsSync(join(markers, name)));
}
