import type { SessionState, Usage } from './events';

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
}
