import { Injectable } from '@nestjs/common';
import {
  fromPermissionRow,
  type PermissionRequestRecord,
  type PermissionResolution,
} from './session-rows';
import { StoreConnection } from './store-connection';

export type { PermissionRequestRecord, PermissionResolution } from './session-rows';

/**
 * Tool permission requests of `ask` sessions, pending and settled. They are deleted with the events of
 * their session (EventStore.pruneEvents).
 */
@Injectable()
export class PermissionRequestStore {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
  }

  async insertPermissionRequest(record: PermissionRequestRecord): Promise<void> {
    await this.db
      .insertInto('permission_requests')
      .values({
        session_id: record.sessionId,
        request_id: record.requestId,
        tool: record.tool,
        input: JSON.stringify(record.input ?? null),
        tool_use_id: record.toolUseId,
        state: record.state,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
        resolved_at: record.resolvedAt,
        resolved_by: record.resolvedBy,
        reason: record.reason,
      })
      .execute();
  }

  async getPermissionRequest(
    sessionId: string,
    requestId: string,
  ): Promise<PermissionRequestRecord | undefined> {
    const row = await this.db
      .selectFrom('permission_requests')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    return row && fromPermissionRow(row);
  }

  /** A session's requests still waiting for an answer, oldest first. */
  async pendingPermissionRequests(sessionId: string): Promise<PermissionRequestRecord[]> {
    const rows = await this.db
      .selectFrom('permission_requests')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('state', '=', 'pending')
      .orderBy('created_at')
      .orderBy('request_id')
      .execute();
    return rows.map(fromPermissionRow);
  }

  /**
   * Settles a pending request in one conditional UPDATE: of two resolutions at once (a reply and the
   * timeout, or replies on two nodes) exactly one gets true. False when it was not pending.
   */
  async resolvePermissionRequest(
    sessionId: string,
    requestId: string,
    resolution: PermissionResolution,
  ): Promise<boolean> {
    const result = await this.db
      .updateTable('permission_requests')
      .set({
        state: resolution.allow ? 'allowed' : 'denied',
        resolved_at: resolution.resolvedAt,
        resolved_by: resolution.by,
        reason: resolution.reason ?? null,
      })
      .where('session_id', '=', sessionId)
      .where('request_id', '=', requestId)
      .where('state', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
