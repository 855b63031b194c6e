import { hostname } from 'node:os';
import type { Isolation, McpServerConfig } from '@jelmore/contracts';
import type { CacheOptions } from './cache/response-cache';
import type { TrafficPolicies } from './launch/routing/traffic-policies';
import type { MiddlewareOptions } from './middleware/middleware.options';

export interface SessionsModuleOptions {
  /** `sqlite:<path>` or `postgres://...`. */
  databaseUrl: string;
  /** This node's id in the store (`node_id`): the sessions whose agents run here. */
  nodeId: string;
  /** Sessions live under this directory; a session without cwd gets `<root>/<sessionId>`. */
  workspaceRoot: string;
  /**
   * A folder inside the root that every owner's sessions may work in (and below it); unset: none. Other
   * than that, an owner's sessions work only in its own sessions' folders.
   */
  sharedWorkspace?: string;
  /** Owners (API key ids) whose sessions may work in any folder of the root: admin keys, the local mode. */
  adminOwners: readonly string[];
  /** Idle, suspended or interrupted sessions untouched this long are ended by the cleanup job. */
  sessionTtlSeconds: number;
  /** Events of sessions that ended this long ago are deleted by the cleanup job (the session row stays). */
  eventRetentionSeconds: number;
  /**
   * Group commit: the most events one transaction writes; a batch this large is written at once. There is
   * no interval: an idle log commits on the next turn of the event loop, and batches grow while a commit
   * is in flight.
   */
  commitMaxBatch: number;
  /** Cost budgets in USD by owner (API key id): spent across all the owner's sessions. */
  ownerBudgetsUsd: Record<string, number>;
  /** Events a subscriber may fall behind before it is told it lagged. */
  subscriberBufferEvents: number;
  /** A tool permission request nobody answers this long is denied. */
  permissionTimeoutSeconds: number;
  /** Largest image or document, uploaded or inline (bytes). */
  maxAttachmentBytes: number;
  /** Largest sum of one turn's images and documents (bytes). */
  maxTurnAttachmentBytes: number;
  /** Most blocks (text, image, document) in one query or input. */
  maxContentBlocks: number;
  /**
   * Where attachments' bytes are kept as files (a node on SQLite: under its data dir); unset: in the
   * database, where every node of a cluster reads them.
   */
  attachmentsDir?: string;
  /** The isolation of sessions created without one. */
  defaultIsolation: Isolation;
  /** Whether sessions created without saying get delegation (Jelmore's MCP server in their agent). */
  delegationDefault: boolean;
  /** How deep delegations may go: a session started by a session started by a client is depth 2. */
  delegationMaxDepth: number;
  /** How many sessions one session's agent may start. */
  delegationMaxChildren: number;
  /**
   * The MCP server a delegating session's agent is given: Jelmore's own, with a token of the session
   * (the app provides it; without it no session delegates).
   */
  delegationServer?: (session: DelegatingSession) => McpServerConfig;
  /** Routing by complexity and A/B experiments; unset: neither. */
  traffic?: TrafficPolicies;
  /** The built-in session middlewares' settings; unset: the redactor on, no prompt prefix or suffix. */
  middleware?: MiddlewareOptions;
  /** The response cache's bounds; unset: DEFAULT_CACHE_OPTIONS. */
  cache?: CacheOptions;
}

/** What a delegation token is made for. */
export interface DelegatingSession {
  id: string;
  owner: string | null;
  depth: number;
}

export const DEFAULT_SESSIONS_OPTIONS: Omit<
  SessionsModuleOptions,
  'databaseUrl' | 'workspaceRoot'
> = {
  nodeId: hostname(),
  sessionTtlSeconds: 3600,
  eventRetentionSeconds: 7 * 24 * 3600,
  commitMaxBatch: 500,
  subscriberBufferEvents: 10_000,
  ownerBudgetsUsd: {},
  adminOwners: [],
  permissionTimeoutSeconds: 300,
  maxAttachmentBytes: 10 * 1024 * 1024,
  maxTurnAttachmentBytes: 20 * 1024 * 1024,
  maxContentBlocks: 20,
  defaultIsolation: 'none',
  delegationDefault: false,
  delegationMaxDepth: 2,
  delegationMaxChildren: 4,
};
