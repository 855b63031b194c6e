import type { Selectable } from 'kysely';
import type {
  Isolation,
  PermissionPolicy,
  PermissionResolver,
  SessionRouting,
  SessionState,
  SuspendedState,
} from '@jelmore/contracts';
import type { PermissionRequestsTable, SessionsTable } from './schema';
import type { SessionGit, SessionRecord } from './session-record';

/** A tool permission request as the store keeps it. */
export interface PermissionRequestRecord {
  sessionId: string;
  requestId: string;
  tool: string;
  input: unknown;
  toolUseId: string | null;
  state: 'pending' | 'allowed' | 'denied';
  createdAt: string;
  expiresAt: string | null;
  resolvedAt: string | null;
  resolvedBy: PermissionResolver | null;
  reason: string | null;
}

/** How a permission request was settled. */
export interface PermissionResolution {
  allow: boolean;
  by: PermissionResolver;
  reason?: string;
  resolvedAt: string;
}

/** The columns of a session, as the store reads them. */
export type SessionRow = Selectable<SessionsTable>;

export function toRow(record: Partial<SessionRecord>): Partial<SessionRow> {
  const row: Partial<SessionRow> = {};
  if (record.id !== undefined) row.id = record.id;
  if (record.owner !== undefined) row.owner = record.owner;
  if (record.provider !== undefined) row.provider = record.provider;
  if (record.model !== undefined) row.model = record.model;
  if (record.state !== undefined) row.state = record.state;
  if (record.cwd !== undefined) row.cwd = record.cwd;
  if (record.providerRef !== undefined) row.provider_ref = record.providerRef;
  if (record.suspendedState !== undefined) {
    row.suspended_state = record.suspendedState && JSON.stringify(record.suspendedState);
  }
  if (record.usage !== undefined) {
    row.input_tokens = record.usage.inputTokens;
    row.output_tokens = record.usage.outputTokens;
    row.cost_usd = record.usage.costUsd;
  }
  if (record.createdAt !== undefined) row.created_at = record.createdAt;
  if (record.updatedAt !== undefined) row.updated_at = record.updatedAt;
  if (record.nodeId !== undefined) row.node_id = record.nodeId;
  if (record.agentPid !== undefined) row.agent_pid = record.agentPid;
  if (record.maxBudgetUsd !== undefined) row.max_budget_usd = record.maxBudgetUsd;
  if (record.permissions !== undefined) row.permissions = record.permissions;
  if (record.title !== undefined) row.title = record.title;
  if (record.isolation !== undefined) {
    row.isolation = record.isolation === 'none' ? null : record.isolation;
  }
  if (record.git !== undefined) row.git = record.git && JSON.stringify(record.git);
  if (record.parentId !== undefined) row.parent_id = record.parentId;
  if (record.forkedFromTurn !== undefined) row.forked_from_turn = record.forkedFromTurn;
  if (record.turns !== undefined) row.turns = record.turns;
  if (record.delegation !== undefined) row.delegation = record.delegation ? 1 : null;
  if (record.cache !== undefined) row.cache = record.cache ? 1 : null;
  if (record.depth !== undefined) row.depth = record.depth;
  if (record.routing !== undefined) row.routing = record.routing && JSON.stringify(record.routing);
  if (record.experiment !== undefined) {
    row.experiment = record.experiment?.name ?? null;
    row.experiment_arm = record.experiment?.arm ?? null;
  }
  return row;
}

export function fromRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    owner: row.owner,
    provider: row.provider,
    model: row.model,
    state: row.state as SessionState,
    cwd: row.cwd,
    providerRef: row.provider_ref,
    suspendedState: row.suspended_state
      ? (JSON.parse(row.suspended_state) as SuspendedState)
      : null,
    usage: {
      inputTokens: Number(row.input_tokens),
      outputTokens: Number(row.output_tokens),
      costUsd: Number(row.cost_usd),
    },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    nodeId: row.node_id,
    agentPid: row.agent_pid === null ? null : Number(row.agent_pid),
    maxBudgetUsd: row.max_budget_usd === null ? null : Number(row.max_budget_usd),
    permissions: row.permissions as PermissionPolicy | null,
    title: row.title ?? null,
    isolation: (row.isolation as Isolation | null) ?? 'none',
    git: row.git ? (JSON.parse(row.git) as SessionGit) : null,
    parentId: row.parent_id,
    forkedFromTurn: row.forked_from_turn === null ? null : Number(row.forked_from_turn),
    turns: Number(row.turns),
    delegation: Number(row.delegation ?? 0) === 1,
    cache: Number(row.cache ?? 0) === 1,
    depth: Number(row.depth),
    routing: row.routing ? (JSON.parse(row.routing) as SessionRouting) : null,
    experiment:
      row.experiment && row.experiment_arm
        ? { name: row.experiment, arm: row.experiment_arm }
        : null,
  };
}

export function fromPermissionRow(
  row: Selectable<PermissionRequestsTable>,
): PermissionRequestRecord {
  return {
    sessionId: row.session_id,
    requestId: row.request_id,
    tool: row.tool,
    input: JSON.parse(row.input) as unknown,
    toolUseId: row.tool_use_id,
    state: row.state as PermissionRequestRecord['state'],
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    resolvedAt: row.resolved_at,
    resolvedBy: row.resolved_by as PermissionResolver | null,
    reason: row.reason,
  };
}
