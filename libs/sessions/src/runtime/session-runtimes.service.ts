import { Injectable } from '@nestjs/common';
import { ErrorCode, NotFoundError, SessionError, SessionResource } from '@jelmore/contracts';
import { EventLog } from '../events/event-log.service';
import type { SessionActor } from '../sessions.types';
import { SessionRecord, toResource } from '../store/session-record';
import { EventStore } from '../store/event-store';
import { SessionStore } from '../store/session-store';
import type { SessionRuntime } from './session-runtime';

/** Where a session is found: its runtime when its agent runs on this node, else its row in the store. */
@Injectable()
export class SessionRuntimes {
  private readonly runtimes = new Map<string, SessionRuntime>();

  constructor(
    private readonly store: SessionStore,
    private readonly events: EventStore,
    private readonly log: EventLog,
  ) {}

  get(id: string): SessionRuntime | undefined {
    return this.runtimes.get(id);
  }

  has(id: string): boolean {
    return this.runtimes.has(id);
  }

  add(runtime: SessionRuntime): void {
    this.runtimes.set(runtime.record.id, runtime);
  }

  /** The session leaves this node: its runtime ends (if it had not) and is forgotten. */
  remove(runtime: SessionRuntime): void {
    if (runtime.state !== 'ended') runtime.exit();
    if (this.runtimes.get(runtime.record.id) === runtime) this.runtimes.delete(runtime.record.id);
  }

  /** The sessions whose agents run here and take commands (not those being ended). */
  live(): SessionRuntime[] {
    return [...this.runtimes.values()].filter((r) => r.isLive);
  }

  /** The session, if the actor may see it: another key's session is reported as missing. */
  async record(id: string, actor?: SessionActor): Promise<SessionRecord> {
    const record = this.runtimes.get(id)?.record ?? (await this.store.getSession(id));
    if (!record || (actor && !mayAct(actor, record))) {
      throw new NotFoundError(`Session ${id} not found`, ErrorCode.SessionNotFound);
    }
    return record;
  }

  /** The session's runtime here, which takes commands; else why it does not. */
  async runtime(id: string, actor?: SessionActor): Promise<SessionRuntime> {
    const record = await this.record(id, actor);
    const runtime = this.runtimes.get(id);
    if (runtime?.isLive) return runtime;
    const why = runtime
      ? 'is ending'
      : `is ${record.state}${record.state === 'suspended' || record.state === 'interrupted' ? '; resume it first' : ''}`;
    throw notActive(record, why);
  }

  /** The session as clients see it, once every event appended so far is committed. */
  async resource(record: SessionRecord): Promise<SessionResource> {
    await this.log.committed(record.id);
    // The log knows the last seq while the session is open here, else the store does.
    return toResource(
      record,
      this.log.lastSeq(record.id) ?? (await this.events.lastSeq(record.id)),
    );
  }

  /**
   * `resource` of many sessions (a list): the last seqs the log does not know (sessions not open here)
   * come from one query, not one each.
   */
  async resources(records: readonly SessionRecord[]): Promise<SessionResource[]> {
    await Promise.all(records.map((r) => this.log.committed(r.id)));
    const closed = records.filter((r) => this.log.lastSeq(r.id) === undefined).map((r) => r.id);
    const stored = closed.length > 0 ? await this.events.lastSeqs(closed) : undefined;
    return records.map((r) => toResource(r, this.log.lastSeq(r.id) ?? stored?.get(r.id) ?? 0));
  }
}

/** Its owner or an admin; a delegating agent, only on the sessions it started. */
export function mayAct(actor: SessionActor, record: SessionRecord): boolean {
  if (actor.delegatedBy !== undefined) {
    return (
      record.parentId === actor.delegatedBy &&
      record.forkedFromTurn === null &&
      record.owner === actor.id
    );
  }
  return actor.admin || record.owner === actor.id;
}

export function notActive(record: SessionRecord, why: string): SessionError {
  return new SessionError(
    `Session ${record.id} ${why}`,
    record.provider,
    record.id,
    ErrorCode.SessionNotActive,
  );
}
