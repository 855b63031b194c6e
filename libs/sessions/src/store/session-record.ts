import type {
  PermissionPolicy,
  SessionResource,
  SessionState,
  SuspendedState,
  Usage,
} from '@jelmore/contracts';

/** A session as the store keeps it. */
export interface SessionRecord {
  id: string;
  owner: string | null;
  provider: string;
  model: string;
  state: SessionState;
  cwd: string;
  providerRef: string | null;
  suspendedState: SuspendedState | null;
  usage: Usage;
  createdAt: string;
  updatedAt: string;
  nodeId: string | null;
  agentPid: number | null;
  maxBudgetUsd: number | null;
  /** How tool calls are permitted; null: the provider's configured behaviour. */
  permissions: PermissionPolicy | null;
  /** The first query's first line, shortened; null for sessions from before titles. */
  title: string | null;
}

export function toResource(record: SessionRecord, lastSeq: number): SessionResource {
  return {
    id: record.id,
    provider: record.provider,
    model: record.model,
    ...(record.title ? { title: record.title } : {}),
    state: record.state,
    cwd: record.cwd,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    usage: record.usage,
    lastSeq,
    ...(record.permissions ? { permissions: record.permissions } : {}),
  };
}
