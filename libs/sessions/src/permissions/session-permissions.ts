import { Logger } from '@nestjs/common';
import type {
  AgentSession,
  PendingPermission,
  PermissionDecision,
  PermissionRequestEvent,
  PermissionResolvedEvent,
  PermissionResolver,
  SessionEventDraft,
} from '@jelmore/contracts';
import type { SessionRecord } from '../store/session-record';
import type {
  PermissionRequestRecord,
  PermissionRequestStore,
} from '../store/permission-request-store';

export type PermissionEvent = PermissionRequestEvent | PermissionResolvedEvent;

/** A request whose agent runs here and waits for the answer. */
interface Waiting {
  sessionId: string;
  timer: NodeJS.Timeout;
}

/**
 * Tool permission requests of the sessions whose agents run on this node. Each request is stored as
 * pending before its event is logged, and settled exactly once: by a client's answer, by the timeout
 * (denied), by the agent withdrawing it, or as cancelled (denied) when its agent stops. The map of
 * waiting requests decides which of two settlements in this process wins; the store's conditional
 * update keeps a request settled once across restarts.
 */
export class SessionPermissions {
  private readonly logger = new Logger(SessionPermissions.name);
  /** `<sessionId> <requestId>` → the request, while its agent waits. */
  private readonly waiting = new Map<string, Waiting>();

  constructor(
    private readonly store: PermissionRequestStore,
    private readonly timeoutMs: number,
    /** Appends to the session's log; the seq is taken when it is called. */
    private readonly log: (record: SessionRecord, draft: SessionEventDraft) => Promise<void>,
    /** Tells those who watch the sessions that started this one (see SessionDelegation). */
    private readonly relay: (record: SessionRecord, event: PermissionEvent) => Promise<void>,
  ) {}

  /** The agent asks: stored before its event is logged (so any answer finds it), denied if unanswered. */
  async opened(
    record: SessionRecord,
    request: PermissionRequestEvent,
    agent: AgentSession,
  ): Promise<void> {
    const now = Date.now();
    const key = keyOf(record.id, request.requestId);
    const timer = setTimeout(() => {
      const reason = `no answer within ${Math.round(this.timeoutMs / 1000)} s`;
      this.answer(record, agent, request.requestId, { allow: false, reason }, 'timeout').catch(
        (err: unknown) => this.logger.error(`permission timeout ${key}: ${String(err)}`),
      );
    }, this.timeoutMs);
    timer.unref();
    this.waiting.set(key, { sessionId: record.id, timer });
    this.logger.log({
      msg: 'permission requested',
      sessionId: record.id,
      requestId: request.requestId,
      tool: request.tool,
    });
    try {
      await this.store.insertPermissionRequest({
        sessionId: record.id,
        requestId: request.requestId,
        tool: request.tool,
        input: request.input,
        toolUseId: request.toolUseId ?? null,
        state: 'pending',
        createdAt: new Date(now).toISOString(),
        expiresAt: new Date(now + this.timeoutMs).toISOString(),
        resolvedAt: null,
        resolvedBy: null,
        reason: null,
      });
    } catch (err) {
      // The request still works while the agent runs; only its survival of a restart is lost.
      this.logger.warn(`permission request ${key} not stored: ${String(err)}`);
    }
    await this.relay(record, request);
  }

  /**
   * A client's answer, or the timeout's, passed on to the agent. False when the request does not wait
   * here: unknown, settled already, or just withdrawn by the agent (whose own event then settles it).
   */
  async answer(
    record: SessionRecord,
    agent: AgentSession,
    requestId: string,
    decision: PermissionDecision,
    by: Extract<PermissionResolver, 'client' | 'timeout'>,
  ): Promise<boolean> {
    const key = keyOf(record.id, requestId);
    if (!this.waiting.has(key) || !agent.answerPermission?.(requestId, decision)) return false;
    this.take(key);
    await this.settle(record, requestId, { ...decision, by });
    return true;
  }

  /** The agent withdrew a request itself; true when it was waiting, so that its event is logged. */
  async withdrawn(record: SessionRecord, resolved: PermissionResolvedEvent): Promise<boolean> {
    if (!this.take(keyOf(record.id, resolved.requestId))) return false;
    await this.saveResolution(record.id, resolved.requestId, resolved);
    await this.relay(record, resolved);
    return true;
  }

  /**
   * Denies, as cancelled, every request of the session still pending: here (its agent is stopping) and
   * in the store (its agent was lost with an earlier process of the server). The log must be open.
   */
  async cancelAll(record: SessionRecord, reason: string): Promise<void> {
    for (const [key, waiting] of this.waiting) {
      if (waiting.sessionId !== record.id) continue;
      this.take(key);
      await this.settle(record, key.slice(record.id.length + 1), {
        allow: false,
        reason,
        by: 'cancelled',
      });
    }
    for (const pending of await this.store.pendingPermissionRequests(record.id)) {
      const resolution = { allow: false, reason, by: 'cancelled' as const };
      if (await this.saveResolution(record.id, pending.requestId, resolution)) {
        await this.announce(record, {
          type: 'permission_resolved',
          requestId: pending.requestId,
          ...resolution,
        });
      }
    }
  }

  /** The session's requests still waiting for an answer, oldest first. */
  async pending(record: SessionRecord, agentRuns: boolean): Promise<PendingPermission[]> {
    return (await this.store.pendingPermissionRequests(record.id)).map((r) =>
      toPending(r, agentRuns),
    );
  }

  /** Stops the timers; the requests stay pending in the store (see cancelAll). */
  close(): void {
    for (const waiting of this.waiting.values()) clearTimeout(waiting.timer);
    this.waiting.clear();
  }

  /** Removes a waiting request; only the first caller gets true. */
  private take(key: string): boolean {
    const waiting = this.waiting.get(key);
    if (!waiting) return false;
    clearTimeout(waiting.timer);
    this.waiting.delete(key);
    return true;
  }

  /** Logs the resolution at once (its seq comes before anything the agent does next), then stores it. */
  private async settle(
    record: SessionRecord,
    requestId: string,
    resolution: PermissionDecision & { by: PermissionResolver },
  ): Promise<void> {
    const announced = this.announce(record, {
      type: 'permission_resolved',
      requestId,
      allow: resolution.allow,
      ...(resolution.reason ? { reason: resolution.reason } : {}),
      by: resolution.by,
    });
    await this.saveResolution(record.id, requestId, resolution);
    await announced;
  }

  /** A settlement, in the session's log and relayed. */
  private async announce(record: SessionRecord, resolved: PermissionResolvedEvent): Promise<void> {
    const logged = this.log(record, resolved);
    await this.relay(record, resolved);
    await logged;
  }

  private async saveResolution(
    sessionId: string,
    requestId: string,
    resolution: PermissionDecision & { by: PermissionResolver },
  ): Promise<boolean> {
    // Ids and the outcome only: a reason is the client's words.
    this.logger.log({
      msg: 'permission resolved',
      sessionId,
      requestId,
      allow: resolution.allow,
      by: resolution.by,
    });
    try {
      return await this.store.resolvePermissionRequest(sessionId, requestId, {
        ...resolution,
        resolvedAt: new Date().toISOString(),
      });
    } catch (err) {
      this.logger.warn(`permission request ${sessionId} ${requestId}: ${String(err)}`);
      return false;
    }
  }
}

function keyOf(sessionId: string, requestId: string): string {
  return `${sessionId} ${requestId}`;
}

function toPending(record: PermissionRequestRecord, agentRuns: boolean): PendingPermission {
  return {
    requestId: record.requestId,
    tool: record.tool,
    input: record.input,
    ...(record.toolUseId ? { toolUseId: record.toolUseId } : {}),
    createdAt: record.createdAt,
    ...(agentRuns && record.expiresAt ? { expiresAt: record.expiresAt } : {}),
  };
}
