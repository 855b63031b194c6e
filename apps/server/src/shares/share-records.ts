import { Injectable } from '@nestjs/common';
import type { Selectable } from 'kysely';
import { type SharesTable, StoreConnection } from '@jelmore/sessions';

/** A share link as stored: never its token, only the token's hash. */
export interface ShareRow {
  id: string;
  tokenHash: string;
  sessionId: string;
  owner: string | null;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

/** Share links in the shared store, so every node of a cluster honours (and revokes) the same ones. */
@Injectable()
export class ShareRecords {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
  }

  async insert(row: ShareRow): Promise<void> {
    await this.db
      .insertInto('shares')
      .values({
        id: row.id,
        token_hash: row.tokenHash,
        session_id: row.sessionId,
        owner: row.owner,
        created_at: row.createdAt,
        expires_at: row.expiresAt,
        revoked_at: row.revokedAt,
      })
      .execute();
  }

  async byTokenHash(tokenHash: string): Promise<ShareRow | undefined> {
    const row = await this.db
      .selectFrom('shares')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && toShare(row);
  }

  /** A session's links, oldest first. */
  async ofSession(sessionId: string): Promise<ShareRow[]> {
    const rows = await this.db
      .selectFrom('shares')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toShare);
  }

  /** Marks it revoked (once: a second revoke keeps the first time). */
  async revoke(id: string, at: string): Promise<void> {
    await this.db
      .updateTable('shares')
      .set({ revoked_at: at })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  }
}

function toShare(r: Selectable<SharesTable>): ShareRow {
  return {
    id: r.id,
    tokenHash: r.token_hash,
    sessionId: r.session_id,
    owner: r.owner,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
  };
}
