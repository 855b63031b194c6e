import type { SessionState, Usage } from './events';
import type { PermissionPolicy } from './permissions';

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
