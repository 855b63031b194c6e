import { mkdirSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ValidationError } from '@jelmore/contracts';

/**
 * The session's working directory: `<root>/<sessionId>` (created) when none is asked for, else the
 * requested one resolved against the root. Whatever is asked, its real path must lie inside the root.
 */
export function resolveSessionCwd(root: string, sessionId: string, requested?: string): string {
  mkdirSync(root, { recursive: true });
  const realRoot = realpathSync(root);
  if (requested === undefined) {
    const dir = resolve(realRoot, sessionId);
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  const candidate = isAbsolute(requested) ? requested : resolve(realRoot, requested);
  let real: string;
  try {
    real = realpathSync(candidate);
  } catch {
    throw new ValidationError(`cwd '${requested}' does not exist in the workspace`, {
      field: 'cwd',
    });
  }
  if (!isInsideWorkspace(realRoot, real)) {
    throw new ValidationError(`cwd '${requested}' is outside the workspace`, { field: 'cwd' });
  }
  return real;
}

/** Whether `path` (after following links) lies in the workspace root or below it. */
export function isInsideWorkspace(root: string, path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  const rel = relative(realpathSync(root), real);
  return rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
