import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import type { GitRunner, GitRunOptions } from './git-runner';
import type { Repository } from './repository';

/** Session ids name refs and index files. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/**
 * The store of the repository whose git directory is `commonDir`: `<storeRoot>/<hash>.git`, a bare
 * repository of Jelmore's that borrows the repository's objects. Made when missing.
 */
export async function openStore(
  git: GitRunner,
  storeRoot: string,
  commonDir: string,
): Promise<string> {
  const hash = createHash('sha256').update(commonDir).digest('hex').slice(0, 16);
  const store = join(storeRoot, `${hash}.git`);
  const exclude = join(store, 'info', 'exclude');
  if (isLink(exclude)) return store; // made before: the link is the last step
  mkdirSync(join(store, 'jelmore'), { recursive: true, mode: 0o700 });
  // No templates: no sample hooks, and info/exclude is the repository's own (below).
  await git.run(['init', '--bare', '-q', '--template=', store]);
  for (const [key, value] of [
    ['core.hooksPath', '/dev/null'],
    ['gc.auto', '0'],
  ]) {
    await git.run(['config', key, value], { cwd: store, env: { GIT_DIR: store } });
  }
  writeAtomically(join(store, 'objects', 'info', 'alternates'), `${commonDir}/objects\n`);
  // A link, so that later edits count; -c core.excludesFile would drop the user's global excludes.
  mkdirSync(join(store, 'info'), { recursive: true });
  rmSync(exclude, { force: true });
  try {
    symlinkSync(join(commonDir, 'info', 'exclude'), exclude);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return store;
}

/** `refs/jelmore/<sessionId>/`, the prefix of the session's refs. */
export function refsOf(sessionId: string): string {
  if (!SAFE_ID.test(sessionId)) {
    throw new JelmoreError(ErrorCode.ValidationFailed, `invalid session id '${sessionId}'`);
  }
  return `refs/jelmore/${sessionId}/`;
}

export function turnRef(sessionId: string, turn: number): string {
  return `${refsOf(sessionId)}turn-${turn}`;
}

/** The session's own index file in the store. */
export function indexOf(store: string, sessionId: string): string {
  return join(store, 'jelmore', `${refsOf(sessionId).split('/')[2]}.index`);
}

/** Git's environment for the repository's working tree seen through the store and `index`. */
export function workEnv(
  store: string,
  repo: Pick<Repository, 'topLevel'>,
  index: string,
): GitRunOptions {
  return {
    cwd: repo.topLevel,
    env: { GIT_DIR: store, GIT_WORK_TREE: repo.topLevel, GIT_INDEX_FILE: index },
  };
}

function writeAtomically(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, path);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
