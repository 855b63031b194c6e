import type {
  AttachmentResource,
  Isolation,
  ModelInfo,
  PermissionPolicy,
  ProviderCapabilities,
  ProviderHealth,
  SessionEvent,
  TurnContent,
  Usage,
} from '@jelmore/contracts';

/** `POST /v1/sessions` and `session:create`. */
export interface CreateSessionRequest {
  /** Text, or content blocks: text, images and documents (see `imageBlock`, `documentBlock`). */
  query: TurnContent;
  provider?: string;
  /** A model id or alias. */
  model?: string;
  /** Inside the server's workspace root; relative paths resolve against it. */
  cwd?: string;
  requirements?: {
    capabilities?: Array<
      keyof Omit<ProviderCapabilities, 'maxConcurrentSessions' | 'maxContextTokens' | 'permissions'>
    >;
    model?: string;
    min_context_tokens?: number;
    cost_sensitive?: boolean;
    premium_features?: boolean;
  };
  maxBudgetUsd?: number;
  /** `ask`: each tool call waits for replyPermission(); `deny-writes`; `bypass`. */
  permissions?: PermissionPolicy;
  /** `worktree`: the session works in a git worktree of its own, on the branch `jelmore/<id>`. */
  isolation?: Isolation;
  /** With `isolation: 'worktree'`: the commit, branch or tag the worktree's branch starts from. */
  baseRef?: string;
  /** Its agent gets Jelmore's MCP server, to start sessions of its own (children of this one). */
  delegation?: boolean;
  /** An experiment of the server's configuration: its arm chooses the provider and model. */
  experiment?: string;
  /** Replay identical turns on identical files from the response cache; needs `deny-writes`. */
  cache?: boolean;
}

/** Two checkpoints' turns: `from` default 0 (the start), `to` default the files as they are now. */
export interface DiffRange {
  from?: number;
  to?: number;
}

export interface UploadOptions {
  /** Sent as the body's Content-Type; the server goes by the bytes' magic numbers all the same. */
  contentType?: string;
  /** A file name, kept on the answer for `documentBlock` (the server stores no names). */
  name?: string;
}

/** `POST /v1/attachments`' answer, with the name the upload was given. */
export type UploadedAttachment = AttachmentResource & { name?: string };

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface ProviderHealthReport extends ProviderHealth {
  circuit: CircuitState;
}

/** `GET /v1/providers`. */
export interface ProvidersReport {
  defaultProvider: string;
  providers: Array<{
    name: string;
    capabilities: ProviderCapabilities;
    models: ModelInfo[];
    health: ProviderHealthReport;
    load: { active: number; max: number };
  }>;
}

/** `GET /health/ready` (Terminus), answered whether the server is ready or not. */
export interface ReadinessReport {
  ready: boolean;
  /** Terminus' `ok`, `error` or `shutting_down`. */
  status: string;
  info?: Record<string, unknown>;
  error?: Record<string, unknown>;
  details?: Record<string, unknown>;
}

/** `GET /v1/metrics`. */
export interface MetricsReport {
  total_sessions: number;
  active_sessions: number;
  usage: Usage;
  providers: Record<string, { total_sessions: number; active_sessions: number; usage: Usage }>;
}

export interface StreamOptions {
  /** Start after this seq (default 0: the whole session). */
  after?: number;
  /** Ends the iteration, as `break` does. */
  signal?: AbortSignal;
  /**
   * Events held for a slow consumer before the client unsubscribes; it subscribes again from where it
   * stopped once the consumer has caught up. Default 10,000.
   */
  highWaterMark?: number;
  /** Called when the connection drops and when it is back (the stream resumes by itself). */
  onConnectionChange?: (connected: boolean) => void;
  /**
   * Called when the stream unsubscribes because the consumer fell `highWaterMark` events behind (true),
   * and when it subscribes again because the consumer caught up (false).
   */
  onPauseChange?: (paused: boolean) => void;
}

export type { SessionEvent };
