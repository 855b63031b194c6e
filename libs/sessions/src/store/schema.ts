import type { ColumnType } from 'kysely';

/** One schema for every adapter: text timestamps (ISO-8601) and JSON as text keep SQLite and PostgreSQL alike. */
export interface Database {
  sessions: SessionsTable;
  events: EventsTable;
  permission_requests: PermissionRequestsTable;
  attachments: AttachmentsTable;
  attachment_blobs: AttachmentBlobsTable;
  session_attachments: SessionAttachmentsTable;
  checkpoints: CheckpointsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  push_subscriptions: PushSubscriptionsTable;
  push_tokens: PushTokensTable;
  shares: SharesTable;
}

export interface SessionsTable {
  id: string;
  owner: string | null;
  provider: string;
  model: string;
  state: string;
  cwd: string;
  provider_ref: string | null;
  suspended_state: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  created_at: string;
  updated_at: string;
  node_id: string | null;
  agent_pid: number | null;
  max_budget_usd: number | null;
  /** The session's permission policy; null: the provider's configured behaviour. */
  permissions: string | null;
  /** The first query's first line, shortened. */
  title: string | null;
  /** `worktree`, or null (none). */
  isolation: string | null;
  /** JSON SessionGit: the repository of the session's checkpoints; null when its cwd is in none. */
  git: string | null;
  parent_id: string | null;
  forked_from_turn: number | null;
  /** Turns that ended (results), less those a rewind took back. */
  turns: ColumnType<number, number | undefined, number>;
  /** 1: its agent gets Jelmore's MCP server (delegation); null: not. */
  delegation: number | null;
  /** Delegations deep: 0 for a session a client started. */
  depth: ColumnType<number, number | undefined, number>;
  /** JSON SessionRouting; null: routing by complexity did not choose its model. */
  routing: string | null;
  /** The experiment it takes part in and its arm; null: none. */
  experiment: string | null;
  experiment_arm: string | null;
  /** 1: its turns use the response cache; null: they do not. */
  cache: number | null;
}

export interface CheckpointsTable {
  session_id: string;
  turn: number;
  commit_sha: string;
  files_changed: number;
  created_at: string;
}

export interface EventsTable {
  session_id: string;
  seq: number;
  type: string;
  /** The whole SessionEvent as JSON, encoded once. */
  payload: string;
  ts: string;
}

export interface PermissionRequestsTable {
  session_id: string;
  request_id: string;
  tool: string;
  /** The tool's input as JSON. */
  input: string;
  tool_use_id: string | null;
  /** pending, allowed or denied. */
  state: string;
  created_at: string;
  expires_at: string | null;
  resolved_at: string | null;
  /** client, timeout or cancelled. */
  resolved_by: string | null;
  reason: string | null;
}

/** An upload (or a block's inline data) as its owner sees it; the bytes are in attachment_blobs. */
export interface AttachmentsTable {
  id: string;
  /** The API key id; null for a server without keys. */
  owner: string | null;
  sha256: string;
  media_type: string;
  size: number;
  created_at: string;
}

export interface AttachmentBlobsTable {
  sha256: string;
  data: Buffer;
}

export interface SessionAttachmentsTable {
  session_id: string;
  attachment_id: string;
}

/** A webhook an API key registered (POST /v1/webhooks). */
export interface WebhooksTable {
  id: string;
  /** The API key id; null for a server without keys. */
  owner: string | null;
  url: string;
  /** JSON list of the event names it gets. */
  events: string;
  /** The HMAC key of its signatures: the caller's, never returned. */
  secret: string;
  created_at: string;
}

/** One event to send to one webhook: pending until delivered or out of attempts (failed). */
export interface WebhookDeliveriesTable {
  id: string;
  /** A WebhooksTable id, or `config:<n>` for the config file's n-th. */
  webhook_id: string;
  session_id: string;
  seq: number;
  /** The webhook event name (e.g. result, failed). */
  event: string;
  /** The JSON body, fixed at insert so every attempt sends (and signs) the same bytes. */
  body: string;
  state: string;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: string;
  /** The node sending it until lease_until; another node may take it after. */
  claimed_by: string | null;
  lease_until: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

/** A browser's Web Push subscription, registered by an API key (POST /v1/push/subscriptions). */
export interface PushSubscriptionsTable {
  id: string;
  /** The API key id; null for a server without keys. */
  owner: string | null;
  endpoint: string;
  /** The subscription's ECDH public key and auth secret (base64url): what payloads are encrypted to. */
  p256dh: string;
  auth: string;
  created_at: string;
}

/** A notification's answer to one permission request: single-use, short-lived, bound to its owner. */
export interface PushTokensTable {
  /** SHA-256 of the token (hex): the token itself only travels in the notification. */
  token_hash: string;
  session_id: string;
  request_id: string;
  owner: string | null;
  expires_at: string;
  used_at: string | null;
  created_at: string;
}

/** A read-only share link of a session (POST /v1/sessions/:id/shares). */
export interface SharesTable {
  id: string;
  /** SHA-256 of the token (hex): the token itself is only in the link. */
  token_hash: string;
  session_id: string;
  /** The API key id that made it; null for a server without keys. */
  owner: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
}
