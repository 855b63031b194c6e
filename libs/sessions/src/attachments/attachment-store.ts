import { Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { AttachmentMediaType, AttachmentResource } from '@jelmore/contracts';
import type { Database } from '../store/schema';
import { endedSessionsBefore } from '../store/session-store';
import { StoreConnection } from '../store/store-connection';

/** An attachment as the store keeps it: whose it is, and which bytes (by their SHA-256). */
export interface AttachmentRecord extends AttachmentResource {
  owner: string | null;
}

/**
 * Attachments in the database, so that every node of a cluster reads what any node took: their bytes
 * kept once per content (attachment_blobs), their owners' references (attachments), and the sessions
 * that used them (session_attachments), which keep them as long as their events are kept.
 */
@Injectable()
export class AttachmentStore {
  private readonly db: Kysely<Database>;

  constructor(connection: StoreConnection) {
    this.db = connection.db;
  }

  async insert(record: AttachmentRecord, bytes: Buffer): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('attachment_blobs')
        .values({ sha256: record.sha256, data: bytes })
        .onConflict((oc) => oc.column('sha256').doNothing())
        .execute();
      await tx
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
  async bytes(sha256s: readonly string[]): Promise<Map<string, Buffer>> {
    if (sha256s.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('attachment_blobs')
      .select(['sha256', 'data'])
      .where('sha256', 'in', [...new Set(sha256s)])
      .execute();
    return new Map(rows.map((row) => [row.sha256, Buffer.from(row.data)]));
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
    return this.db.transaction().execute(async (tx) => {
      await tx
        .deleteFrom('session_attachments')
        .where('session_id', 'in', endedSessionsBefore(tx, cutoff).select('id'))
        .execute();
      const result = await tx
        .deleteFrom('attachments')
        .where('created_at', '<', cutoff)
        .where('id', 'not in', tx.selectFrom('session_attachments').select('attachment_id'))
        .executeTakeFirst();
      await tx
        .deleteFrom('attachment_blobs')
        .where('sha256', 'not in', tx.selectFrom('attachments').select('sha256'))
        .execute();
      return Number(result.numDeletedRows);
    });
  }
}
