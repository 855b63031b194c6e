import { Injectable } from '@nestjs/common';
import type { Checkpoint } from '@jelmore/contracts';
import { StoreConnection } from './store-connection';

/** The sessions' checkpoints as rows: which turn is which commit (the commits are in git). */
@Injectable()
export class CheckpointRecords {
  constructor(private readonly connection: StoreConnection) {}

  private get db() {
    return this.connection.db;
  }

  async add(sessionId: string, checkpoint: Checkpoint): Promise<void> {
    await this.db
      .insertInto('checkpoints')
      .values({
        session_id: sessionId,
        turn: checkpoint.turn,
        commit_sha: checkpoint.commit,
        files_changed: checkpoint.filesChanged,
        created_at: checkpoint.createdAt,
      })
      .execute();
  }

  /** Oldest first. */
  async list(sessionId: string): Promise<Checkpoint[]> {
    const rows = await this.db
      .selectFrom('checkpoints')
      .selectAll()
      .where('session_id', '=', sessionId)
      .orderBy('turn')
      .execute();
    return rows.map((row) => ({
      turn: Number(row.turn),
      commit: row.commit_sha,
      filesChanged: Number(row.files_changed),
      createdAt: row.created_at,
    }));
  }

  async get(sessionId: string, turn: number): Promise<Checkpoint | undefined> {
    return (await this.list(sessionId)).find((checkpoint) => checkpoint.turn === turn);
  }

  /** Forgets every checkpoint of the session (its retention ended). */
  async deleteAll(sessionId: string): Promise<void> {
    await this.db.deleteFrom('checkpoints').where('session_id', '=', sessionId).execute();
  }

  /** Forgets the turns after `turn` (a rewind took them back). */
  async deleteAfter(sessionId: string, turn: number): Promise<void> {
    await this.db
      .deleteFrom('checkpoints')
      .where('session_id', '=', sessionId)
      .where('turn', '>', turn)
      .execute();
  }
}
