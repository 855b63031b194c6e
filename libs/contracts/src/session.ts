import type { SessionState, Usage } from './events';
import type { PermissionPolicy } from './permissions';
import type { ExperimentAssignment, SessionRouting } from './traffic';

/** The session resource as REST and WS return it. */
export interface SessionResource {
  id: string;
  provider: string;
  model: string;
  /** The first query's first line of text, shortened: what the session is about. */
  title?: string;
  state: SessionState;
  cwd: string;
  createdAt: string;
  updatedAt: string;
  usage: Usage;
  lastSeq: number;
  /** How the session's tool calls are permitted; absent: the provider's configured behaviour. */
  permissions?: PermissionPolicy;
  /** `worktree`: the session works in its own git worktree, on the branch `worktree.branch`. */
  isolation: Isolation;
  /** Present for sessions in a git worktree of their own. */
  worktree?: WorktreeInfo;
  /** The session this one was forked from (with forkedFrom), or whose agent started it (delegation). */
  parentId?: string;
  forkedFrom?: { sessionId: string; turn: number };
  /** Its agent may start sessions of its own through Jelmore's MCP server. */
  delegation?: boolean;
  /** Set when the session ended: what became of its worktree. */
  worktreeRemoved?: { branch: string; branchKept: boolean };
  /** How routing by complexity chose its model, when it did. */
  routing?: SessionRouting;
  /** The A/B experiment it takes part in, and its arm. */
  experiment?: ExperimentAssignment;
  /** Its turns use the response cache (docs/cache.md). */
  cache?: true;
}

export const ISOLATIONS = ['none', 'worktree'] as const;
/** `none`: the session works in its cwd as it is; `worktree`: in a git worktree of its own. */
export type Isolation = (typeof ISOLATIONS)[number];

export interface WorktreeInfo {
  /** The repository's top-level folder the worktree was made from. */
  repository: string;
  /** `jelmore/<sessionId>`. */
  branch: string;
  /** The commit the branch started at. */
  base: string;
}

/** The files of a session at the end of one of its turns (turn 0: as the session started). */
export interface Checkpoint {
  turn: number;
  commit: string;
  filesChanged: number;
  createdAt: string;
}

export type FileChangeStatus = 'added' | 'modified' | 'deleted' | 'type_changed';

export interface FileChange {
  path: string;
  status: FileChangeStatus;
  /** Lines; null for binary files. */
  additions: number | null;
  deletions: number | null;
}

/** GET /v1/sessions/:id/diff as JSON. */
export interface SessionDiff {
  /** The turns compared; `to` absent: the files as they are now. */
  from: number;
  to?: number;
  files: FileChange[];
  /** Unified diff (git's format, a/ and b/ prefixes). */
  patch: string;
}

/** POST /v1/sessions/:id/rewind. */
export interface RewindResult {
  session: SessionResource;
  turn: number;
  /** Files the rewind changed in the working tree. */
  filesChanged: number;
  /** `truncated`: the conversation was cut back to the turn; `kept`: the provider cannot, it goes on whole. */
  conversation: 'truncated' | 'kept';
}

/**
 * How `input` is taken while a turn runs (when the session is idle, every mode starts a turn now):
 * - `queue` (the default): waits for the running turn and any input queued before it.
 * - `interrupt`: the running turn is stopped (its `result` says `interrupted`) and this input runs next,
 *   before anything queued, in the same conversation (the interrupted turn stays in the context).
 * - `steer`: goes to the agent mid-turn, where its provider can take that (`capabilities.steer`);
 *   refused with STEER_UNSUPPORTED elsewhere, whatever the session's state.
 */
export const INPUT_MODES = ['queue', 'interrupt', 'steer'] as const;
export type InputMode = (typeof INPUT_MODES)[number];
