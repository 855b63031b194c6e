import type {
  ExperimentAssignment,
  Isolation,
  PermissionPolicy,
  SessionResource,
  SessionRouting,
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
  isolation: Isolation;
  /** The git repository the session's checkpoints are of; null when its cwd is in none. */
  git: SessionGit | null;
  parentId: string | null;
  /** The parent's turn a fork started from. */
  forkedFromTurn: number | null;
  /** Turns that ended (one per `result`), less those a rewind took back. */
  turns: number;
  /** Its agent gets Jelmore's MCP server, to start sessions of its own (children: parentId is this). */
  delegation: boolean;
  /** Delegations deep: 0 for a session a client started, its parent's + 1 for a child. */
  depth: number;
  /** How routing by complexity chose its model; null when it did not. */
  routing: SessionRouting | null;
  /** The experiment it takes part in, and its arm. */
  experiment: ExperimentAssignment | null;
  /** Its turns are looked up in (and recorded to) the response cache: a read-only session only. */
  cache: boolean;
}

/** Where a session's files are in git: the repository, and the session's own worktree if it has one. */
export interface SessionGit {
  /** The repository's working tree the checkpoints snapshot (the worktree's, for a worktree session). */
  topLevel: string;
  /** The repository's shared git directory (`.git` of the main working tree). */
  commonDir: string;
  /** The git directory of `topLevel` (its index). */
  gitDir: string;
  /** The session's cwd relative to `topLevel`, '' at its top. */
  prefix: string;
  /** The commit the session started from (its branch's base); null on a repository without commits. */
  base: string | null;
  worktree?: {
    /** The main working tree it was made from. */
    repository: string;
    branch: string;
    /** Set once it was removed. */
    removed?: { branchKept: boolean };
  };
}

/** A new session's history fields: no repository, no parent, no turns yet, no traffic policy. */
export const NO_HISTORY: Pick<
  SessionRecord,
  | 'isolation'
  | 'git'
  | 'parentId'
  | 'forkedFromTurn'
  | 'turns'
  | 'delegation'
  | 'depth'
  | 'routing'
  | 'experiment'
  | 'cache'
> = Object.freeze({
  isolation: 'none',
  git: null,
  parentId: null,
  forkedFromTurn: null,
  turns: 0,
  delegation: false,
  depth: 0,
  routing: null,
  experiment: null,
  cache: false,
});

/** The record of a session starting now: what it was given, the rest as a new session has it. */
export function startingRecord(
  given: Pick<
    SessionRecord,
    | 'id'
    | 'owner'
    | 'provider'
    | 'model'
    | 'cwd'
    | 'nodeId'
    | 'maxBudgetUsd'
    | 'permissions'
    | 'title'
  > &
    Partial<SessionRecord>,
): SessionRecord {
  const now = new Date().toISOString();
  return {
    state: 'starting',
    providerRef: null,
    suspendedState: null,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    createdAt: now,
    updatedAt: now,
    agentPid: null,
    ...NO_HISTORY,
    ...given,
  };
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
    isolation: record.isolation,
    ...worktreeFields(record),
    ...(record.parentId ? { parentId: record.parentId } : {}),
    ...(record.parentId && record.forkedFromTurn !== null
      ? { forkedFrom: { sessionId: record.parentId, turn: record.forkedFromTurn } }
      : {}),
    ...(record.delegation ? { delegation: true } : {}),
    ...(record.routing ? { routing: record.routing } : {}),
    ...(record.experiment ? { experiment: record.experiment } : {}),
    ...(record.cache ? { cache: true } : {}),
  };
}

function worktreeFields(record: SessionRecord): Partial<SessionResource> {
  const worktree = record.git?.worktree;
  if (!worktree || record.git?.base == null) return {};
  const { branch, removed } = worktree;
  return {
    worktree: { repository: worktree.repository, branch, base: record.git.base },
    ...(removed ? { worktreeRemoved: { branch, branchKept: removed.branchKept } } : {}),
  };
}
