import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/** A folder with more files than this, or more bytes, is not hashed: its turns are not cached. */
export const CONTENT_HASH_LIMITS = { files: 2000, bytes: 32 * 1024 * 1024 };

/**
 * A hash of every file under `dir` (paths, contents, symlink targets; folder modes aside), or undefined
 * when it holds more than `limits` allow. For a cwd in no git repository, where no tree id is to be had.
 */
export async function contentHash(
  dir: string,
  limits = CONTENT_HASH_LIMITS,
): Promise<string | undefined> {
  const hash = createHash('sha256');
  let files = 0;
  let bytes = 0;
  const walk = async (rel: string): Promise<boolean> => {
    // Sorted: the hash must not depend on the order the file system lists a folder in.
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const stat = await lstat(full);
      if (stat.isDirectory()) {
        if (!(await walk(path))) return false;
        continue;
      }
      files += 1;
      bytes += stat.size;
      if (files > limits.files || bytes > limits.bytes) return false;
      const body = stat.isSymbolicLink() ? `-> ${await readlink(full)}` : await readFile(full);
      hash.update(`${path}\0${stat.mode & 0o111 ? 'x' : '-'}\0${body.length}\0`).update(body);
    }
    return true;
  };
  return (await walk('')) ? hash.digest('hex') : undefined;
}
