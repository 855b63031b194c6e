import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { AttachmentMediaType, AttachmentResource } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { Database } from '../store/schema';
import { BlobStore, DatabaseBlobStore, FileBlobStore } from './blob-store';
import { endedSessionsBefore } from '../store/session-store';
import { StoreConnection } from '../store/store-connection';

/** An attachment as the store keeps it: whose it is, and which bytes (by their SHA-256). */
export interface AttachmentRecord extends AttachmentResource {
  owner: string | null;
}

/**
 * Attachments: their owners' references (attachments) and the sessions that used them
 * (session_attachments, which keep them as long as their events are kept) in the database; their bytes
 * once per content in a BlobStore: files under the data dir on SQLite, rows on PostgreSQL (see
 * blob-store.ts).
 */
@Injectable()
export class AttachmentStore {
  private readonly db: Kysely<Database>;
  private readonly blobs: BlobStore;
  private readonly gate = new PruneGate();

  constructor(
    connection: StoreConnection,
    @Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions,
  ) {
    this.db = connection.db;
    this.blobs = options.attachmentsDir
      ? new FileBlobStore(options.attachmentsDir)
      : new DatabaseBlobStore(this.db);
  }

  /** The bytes first: a reference is never kept to bytes that are not. */
  async insert(record: AttachmentRecord, bytes: Buffer): Promise<void> {
    await this.gate.keeping(async () => {
      await this.blobs.put(record.sha256, bytes);
      await this.db
        .insertInto('attachments')
        .values({
          id: record.id,
          owner: record.owner,
          sha256: record.sha256,
          media_type: record.mediaType,
          size: record.size,
          created_at: record.createdAt,
        })
        .execute();
    });
  }

  async find(ids: readonly string[]): Promise<AttachmentRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('attachments')
      .selectAll()
      .where('id', 'in', ids)
      .execute();
    return rows.map((row) => ({
      id: row.id,
      owner: row.owner,
      sha256: row.sha256,
      mediaType: row.media_type as AttachmentMediaType,
      size: Number(row.size),
      createdAt: row.created_at,
    }));
  }

  /** The bytes of each SHA-256 asked for that is kept. */
  bytes(sha256s: readonly string[]): Promise<Map<string, Buffer>> {
    return this.blobs.get(sha256s);
  }

  async link(sessionId: string, attachmentIds: readonly string[]): Promise<void> {
    if (attachmentIds.length === 0) return;
    await this.db
      .insertInto('session_attachments')
      .values(
        [...new Set(attachmentIds)].map((id) => ({ session_id: sessionId, attachment_id: id })),
      )
      .onConflict((oc) => oc.columns(['session_id', 'attachment_id']).doNothing())
      .execute();
  }

  /**
   * Deletes what only sessions that ended before `cutoff` used, and uploads older than `cutoff` that no
   * session used; then the bytes nothing refers to any more. Returns how many attachments went.
   */
  async prune(cutoff: string): Promise<number> {
    const gone = await this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('session_attachments')
        .where('session_id', 'in', endedSessionsBefore(tx, cutoff).select('id'))
        .execute();
      return tx
        .deleteFrom('attachments')
        .where('created_at', '<', cutoff)
        .where('id', 'not in', tx.selectFrom('session_attachments').select('attachment_id'))
        .returning('sha256')
        .execute();
    });
    const candidates = [...new Set(gone.map((row) => row.sha256))];
    if (candidates.length > 0) {
      // Alone: an upload of the same bytes meanwhile would refer to a blob being deleted.
      await this.gate.pruning(async () => {
        const kept = await this.db
          .selectFrom('attachments')
          .select('sha256')
          .where('sha256', 'in', candidates)
          .execute();
        const referred = new Set(kept.map((row) => row.sha256));
        await this.blobs.delete(candidates.filter((sha256) => !referred.has(sha256)));
      });
    }
    return gone.length;
  }
}

/**
 * Keeping attachments goes on side by side; deleting unreferred blobs waits for them and holds new ones
 * back meanwhile (one node's store: a cluster's PostgreSQL blobs are deleted by one statement each).
 */
class PruneGate {
  private keepers = 0;
  private prune?: Promise<void>;
  private idle?: () => void;

  async keeping<T>(keep: () => Promise<T>): Promise<T> {
    while (this.prune) await this.prune;
    this.keepers++;
    try {
      return await keep();
    } finally {
      if (--this.keepers === 0) this.idle?.();
    }
  }

  async pruning(prune: () => Promise<void>): Promise<void> {
    while (this.prune) await this.prune;
    let done!: () => void;
    this.prune = new Promise((resolve) => (done = resolve));
    try {
      if (this.keepers > 0) await new Promise<void>((resolve) => (this.idle = resolve));
      await prune();
    } finally {
      this.idle = undefined;
      this.prune = undefined;
      done();
    }
  }
}
