import { Injectable, Logger } from '@nestjs/common';
import type { SessionState } from '@jelmore/contracts';
import { EventLog } from '../events/event-log.service';
import type { SessionRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';

/** Records a session's state changes: each as a status event in its log, then in its row. */
@Injectable()
export class SessionTransitions {
  private readonly logger = new Logger(SessionTransitions.name);

  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
  ) {}

  async transition(record: SessionRecord, to: SessionState, reason?: string): Promise<void> {
    const from = record.state === to && to === 'starting' ? null : record.state;
    this.logger.log({
      msg: 'session state',
      sessionId: record.id,
      provider: record.provider,
      model: record.model,
      from,
      to,
      ...(reason ? { reason } : {}),
    });
    record.state = to;
    record.updatedAt = new Date().toISOString();
    // The status event first (its seq follows every event before this change, often in their batch),
    // then the row, which other nodes read: it changes only once those events are committed.
    await this.log.append(record.id, {
      type: 'status',
      from,
      to,
      ...(reason ? { reason } : {}),
      // The first says what the traffic policies chose, for whoever follows the events only.
      ...(from === null && record.routing ? { routing: record.routing } : {}),
      ...(from === null && record.experiment ? { experiment: record.experiment } : {}),
    });
    await this.store.updateSession(record.id, {
      // Not `to`: a later change may have come meanwhile; the row takes the latest.
      state: record.state,
      updatedAt: record.updatedAt,
      providerRef: record.providerRef,
      agentPid: record.agentPid,
      suspendedState: record.suspendedState,
      turns: record.turns,
    });
  }
}
