/**
 * How a session's tool calls are permitted:
 * - `bypass`: every tool runs without asking (the CLI's bypassPermissions mode);
 * - `ask`: every tool call waits for a client's decision (a `permission_request` event, answered with
 *   `permission:reply` or POST /v1/sessions/:id/permissions/:requestId); nobody answering in time denies;
 * - `deny-writes`: tools that only read run; a call that would change files or run anything the agent
 *   cannot tell is read-only is denied at once, without asking anyone.
 * A session that names none keeps the provider's configured behaviour.
 */
export const PERMISSION_POLICIES = ['bypass', 'ask', 'deny-writes'] as const;
export type PermissionPolicy = (typeof PERMISSION_POLICIES)[number];

/** A client's answer to a permission request. */
export interface PermissionDecision {
  allow: boolean;
  /** Why; a denial's reason is what the agent is told. */
  reason?: string;
}

/**
 * Who settled a permission request: a client's reply; nobody in time (`timeout`, denied); or nobody at
 * all (`cancelled`, denied): the agent withdrew the call (interrupt), or stopped (suspend, terminate,
 * exit, server restart) before anyone answered.
 */
export type PermissionResolver = 'client' | 'timeout' | 'cancelled';

/** A permission request still waiting for an answer, as the subscribe ack and REST list it. */
export interface PendingPermission {
  requestId: string;
  tool: string;
  input: unknown;
  toolUseId?: string;
  createdAt: string;
  /** When it is denied for want of an answer; absent once its agent is gone (the session resumes it). */
  expiresAt?: string;
}
