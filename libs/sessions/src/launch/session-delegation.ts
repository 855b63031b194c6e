import { Inject, Injectable } from '@nestjs/common';
import {
  ErrorCode,
  JelmoreError,
  McpServerConfig,
  type SessionEventDraft,
} from '@jelmore/contracts';
import { EventLog } from '../events/event-log.service';
import type { PermissionEvent } from '../permissions/session-permissions';
import { notActive, SessionRuntimes } from '../runtime/session-runtimes.service';
import { LIVE_STATES } from '../sessions.constants';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { CreateSessionInput } from '../sessions.types';
import type { SessionRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';

/** What a new session takes from the session whose agent starts it. */
export interface ChildPlacement {
  parentId: string;
  depth: number;
  /** What is left of the parent's budget, when it has one: the child spends from it. */
  maxBudgetUsd: number | null;
}

/**
 * Delegation: a session's agent starts sessions of its own through Jelmore's MCP server. Children are
 * their parent's owner's, limited in depth and number, spend from the parent's budget, and end with it.
 */
@Injectable()
export class SessionDelegation {
  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly runtimes: SessionRuntimes,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  /** Whether a new session delegates: as asked, else the server's default; never without a server. */
  delegates(input: CreateSessionInput): boolean {
    return (
      this.options.delegationServer !== undefined &&
      (input.delegation ?? this.options.delegationDefault)
    );
  }

  /** Undefined for a session a client starts; for a delegating agent's, where it stands. */
  async placement(input: CreateSessionInput): Promise<ChildPlacement | undefined> {
    const parentId = input.actor?.delegatedBy;
    if (parentId === undefined) return undefined;
    const parent = await this.runtimes.record(parentId);
    if (!parent.delegation || !LIVE_STATES.includes(parent.state)) {
      throw notActive(parent, `is ${parent.state}; only a live delegating session starts sessions`);
    }
    const depth = parent.depth + 1;
    if (depth > this.options.delegationMaxDepth) {
      throw limit(`delegations go at most ${this.options.delegationMaxDepth} deep`, {
        maxDepth: this.options.delegationMaxDepth,
      });
    }
    const children = await this.store.childrenOf(parentId);
    if (children.length >= this.options.delegationMaxChildren) {
      throw limit(`a session starts at most ${this.options.delegationMaxChildren} sessions`, {
        maxChildren: this.options.delegationMaxChildren,
      });
    }
    return { parentId, depth, maxBudgetUsd: await this.budgetLeft(parent, input.maxBudgetUsd) };
  }

  /** The parent's stream hears of its new child. */
  async announce(child: SessionRecord): Promise<void> {
    if (child.parentId === null || child.forkedFromTurn !== null) return;
    await this.log.append(child.parentId, {
      type: 'child_session',
      childSessionId: child.id,
      provider: child.provider,
      model: child.model,
    });
  }

  /**
   * A child's permission request, or how it was settled, in the stream of every session above it whose
   * agent runs here: whoever watches the parent can answer it, on the child's session. A fork is not a
   * child, so the relay stops at one.
   */
  async relayPermission(record: SessionRecord, event: PermissionEvent): Promise<void> {
    if (record.forkedFromTurn !== null) return;
    const relayed: SessionEventDraft =
      event.type === 'permission_request'
        ? { ...event, type: 'child_permission_request', childSessionId: record.id }
        : { ...event, type: 'child_permission_resolved', childSessionId: record.id };
    for (let id = record.parentId; id !== null;) {
      this.log.writeIfOpen(id, relayed);
      const ancestor = await this.store.getSession(id);
      id = ancestor?.forkedFromTurn === null ? ancestor.parentId : null;
    }
  }

  /** The MCP servers the session's agent gets: Jelmore's own when it delegates. */
  mcpServers(
    record: Pick<SessionRecord, 'id' | 'owner' | 'depth' | 'delegation'>,
  ): readonly McpServerConfig[] | undefined {
    const server = this.options.delegationServer;
    if (!record.delegation || !server) return undefined;
    return [server({ id: record.id, owner: record.owner, depth: record.depth })];
  }

  /** What the session and its children have spent together: its budget counts both. */
  async spentWithChildren(record: SessionRecord, pending: number): Promise<number> {
    const children = record.delegation ? await this.store.childrenOf(record.id) : [];
    return children.reduce(
      (sum, child) => sum + child.usage.costUsd,
      record.usage.costUsd + pending,
    );
  }

  private async budgetLeft(parent: SessionRecord, asked?: number): Promise<number | null> {
    if (parent.maxBudgetUsd === null) return asked ?? null;
    const left = Math.max(0, parent.maxBudgetUsd - (await this.spentWithChildren(parent, 0)));
    return asked === undefined ? left : Math.min(asked, left);
  }
}

function limit(why: string, details: Record<string, unknown>): JelmoreError {
  return new JelmoreError(ErrorCode.DelegationLimit, `Delegation refused: ${why}`, details);
}
