import type { Isolation, PermissionPolicy, TurnContent, Usage } from '@jelmore/contracts';
import type { SessionRequirements } from '@jelmore/providers';

/** Who acts on a session: its owner, or an admin. Without one (internal jobs) nothing is checked. */
export interface SessionActor {
  id: string;
  admin: boolean;
  /**
   * A delegating session's agent (through Jelmore's MCP server, with that session's token): it starts
   * sessions as this session's children, and sees only those.
   */
  delegatedBy?: string;
}

export interface CreateSessionInput {
  /** The first turn: text, or blocks of text, images and documents. */
  query: TurnContent;
  provider?: string;
  model?: string;
  cwd?: string;
  owner?: string;
  /** Who creates it, when that is not the owner itself acting (an admin may use any attachment). */
  actor?: SessionActor;
  requirements?: SessionRequirements;
  /** The turn in which the session's cost reaches this stops, and no further input is taken. */
  maxBudgetUsd?: number;
  /** How tool calls are permitted; the provider's configured behaviour when absent. */
  permissions?: PermissionPolicy;
  /** `worktree`: a git worktree of its own (the cwd must be in a repository); default: the server's. */
  isolation?: Isolation;
  /** Its agent gets Jelmore's MCP server to start sessions of its own; default: the server's. */
  delegation?: boolean;
  /** The commit a worktree's branch starts at (a ref git resolves); default: the repository's HEAD. */
  baseRef?: string;
  /** An experiment of the configuration to take part in: its arm names the provider and model. */
  experiment?: string;
  /**
   * Turns replay a recorded identical turn on identical files instead of calling the agent: only with
   * permissions that cannot write (CACHE_NEEDS_READ_ONLY). See docs/cache.md.
   */
  cache?: boolean;
}

export interface SessionMetrics {
  total_sessions: number;
  active_sessions: number;
  usage: Usage;
  providers: Record<string, { total_sessions: number; active_sessions: number; usage: Usage }>;
}
