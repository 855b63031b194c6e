import type { SessionState, Usage } from './events';
import type { PermissionPolicy } from './permissions';

/** The session resource as REST and WS return it. */
export interface SessionResource {
  id: string;
  provider: string;
  model: string;
  state: SessionState;
  cwd: string;
  createdAt: string;
  updatedAt: string;
  usage: Usage;
  lastSeq: number;
  /** How the session's tool calls are permitted; absent: the provider's configured behaviour. */
  permissions?: PermissionPolicy;
}
