import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema';

/** Attachment bytes by their SHA-256: kept once whoever sends them how often. */
export interface BlobStore {
  /** Keeps the bytes unless it has them already. */
  put(sha256: string, bytes: Buffer): Promise<void>;
  /** The bytes of each SHA-256 asked for that is kept. */
  get(sha256s: readonly string[]): Promise<Map<string, Buffer>>;
  delete(sha256s: readonly string[]): Promise<void>;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Files under the data dir (`<dir>/<first two hex digits>/<sha256>`), for a node on SQLite: written and
 * read off the event loop, where a blob in SQLite would hold it for the whole insert (about 8 ms a MiB,
 * bench/: attachments).
 */
export class FileBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  async put(sha256: string, bytes: Buffer): Promise<void> {
    const path = this.path(sha256);
    if (await exists(path)) return;
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // Whole or not at all: a reader never sees a file being written.
    const partial = `${path}.${randomUUID()}.partial`;
    await writeFile(partial, bytes, { mode: 0o600 });
    await rename(partial, path);
  }

  async get(sha256s: readonly string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    for (const sha256 of new Set(sha256s)) {
      const bytes = await readFile(this.path(sha256)).catch(() => undefined);
      if (bytes) found.set(sha256, bytes);
    }
    return found;
  }

  async delete(sha256s: readonly string[]): Promise<void> {
    await Promise.all(sha256s.map((sha256) => rm(this.path(sha256), { force: true })));
  }

  private path(sha256: string): string {
    // Ours, from a hash; checked anyway, as it becomes a path.
    if (!SHA256.test(sha256)) throw new Error(`not a SHA-256: ${sha256.slice(0, 80)}`);
    return join(this.dir, sha256.slice(0, 2), sha256);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Rows of the database, for nodes on PostgreSQL: every node of a cluster reads what any node took. */
export class DatabaseBlobStore implements BlobStore {
  constructor(private readonly db: Kysely<Database>) {}

  async put(sha256: string, bytes: Buffer): Promise<void> {
    // Asked first: a blob already kept is not sent to the server again.
    const kept = await this.db
      .selectFrom('attachment_blobs')
      .select('sha256')
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    if (kept) return;
    await this.db
      .insertInto('attachment_blobs')
      .values({ sha256, data: bytes })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .execute();
  }

  async get(sha256s: readonly string[]): Promise<Map<string, Buffer>> {
    if (sha256s.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('attachment_blobs')
      .select(['sha256', 'data'])
      .where('sha256', 'in', [...new Set(sha256s)])
      .execute();
    return new Map(rows.map((row) => [row.sha256, Buffer.from(row.data)]));
  }

  async delete(sha256s: readonly string[]): Promise<void> {
    if (sha256s.length === 0) return;
    await this.db.deleteFrom('attachment_blobs').where('sha256', 'in', sha256s).execute();
  }
}
