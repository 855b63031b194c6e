import type { AgentInput } from './content';
import type { SessionEventDraft } from './events';
import type { PermissionDecision, PermissionPolicy } from './permissions';

export interface ProviderCapabilities {
  streaming: boolean;
  tools: boolean;
  fileOperations: boolean;
  codeExecution: boolean;
  /** Images in input (image blocks reach the model). */
  multimodal: boolean;
  /** PDF documents in input (document blocks reach the model as documents; text ones go anywhere as text). */
  documents: boolean;
  /**
   * Resume: a suspended or interrupted session goes on with its conversation in a new agent process
   * (after a restart, or on another node).
   */
  continuation: boolean;
  /** A running turn can be stopped with the conversation kept: `interrupt`, and input mode `interrupt`. */
  interrupt: boolean;
  /** Input can reach the agent mid-turn (input mode `steer`, through AgentSession.steer). */
  steer: boolean;
  /** Agents can be started ahead of their sessions (claimWarmSession), when the provider is set to. */
  warmStart: boolean;
  /** The session's cwd follows the agent's `cd`s (`directory_changed` events). */
  directoryTracking: boolean;
  /**
   * Fork: a new session's conversation can start as a copy of another's up to one of its turns
   * (AgentProviderPort.forkConversation).
   */
  fork: boolean;
  /** The conversation can be cut back to one of its turns (AgentProviderPort.rewindConversation). */
  rewind: boolean;
  maxConcurrentSessions: number;
  maxContextTokens: number;
  /** The permission policies the provider enforces; a session asking for another is refused. */
  permissions?: readonly PermissionPolicy[];
}

export interface ModelInfo {
  id: string;
  aliases: string[];
  provider: string;
  contextWindow: number;
  /** USD per 1M input tokens. */
  inputPricePerMTok: number;
  /** USD per 1M output tokens. */
  outputPricePerMTok: number;
}

export interface ProviderHealth {
  healthy: boolean;
  /** Why the provider is unhealthy, or what was checked. */
  reason?: string;
  version?: string;
  checkedAt: string;
}

export interface ProviderMetrics {
  activeSessions: number;
  totalSessions: number;
  failedSessions: number;
  /** Present when the provider keeps agents started ahead of their sessions (warm start). */
  warmPool?: WarmPoolMetrics;
}

/** Why a new session got no pre-started agent: none ready, another model or cwd, other settings. */
export type WarmPoolMissReason = 'empty' | 'model' | 'cwd' | 'settings';

export interface WarmPoolMetrics {
  /** Agents the pool keeps started. */
  size: number;
  /** Agents started and waiting for a session now. */
  ready: number;
  /** Sessions that started on a pre-started agent. */
  hits: number;
  misses: Record<WarmPoolMissReason, number>;
  /** Waiting agents that died and were replaced. */
  replaced: number;
}

/**
 * A new session's settings before it has an id: what a warm agent must match. `model` is the full id;
 * `cwd` is the one the client asked for, absent for the session's own `<workspace root>/<id>`.
 */
export type WarmSessionRequest = Omit<SessionConfig, 'sessionId' | 'cwd' | 'model'> & {
  model: string;
  cwd?: string;
};

export interface SessionConfig {
  /** The Jelmore session id; providers key their own state by it. */
  sessionId: string;
  /** Absolute working directory, already confined to the workspace root. */
  cwd: string;
  /** A model id or alias; the provider's default when absent. */
  model?: string;
  /** How tool calls are permitted; the provider's configured behaviour when absent. */
  permissions?: PermissionPolicy;
  /**
   * Who the session belongs to (the API key id): the agent gets that tenant's home, never another's.
   * Absent for sessions of a server without keys.
   */
  tenant?: string;
  /**
   * Folders outside the cwd the agent must see: for a session in a git worktree, the repository's
   * git directory (read-only) and the worktree's own folder in it (writable).
   */
  mounts?: SessionMounts;
  /** MCP servers the agent gets (delegation: Jelmore's own, with a token of the session's). */
  mcpServers?: readonly McpServerConfig[];
}

/** A Streamable HTTP MCP server as an agent is configured with it. */
export interface McpServerConfig {
  name: string;
  url: string;
  headers: Readonly<Record<string, string>>;
}

export interface SessionMounts {
  readOnly?: readonly string[];
  writable?: readonly string[];
}

/** Enough to continue a session in another process or on another node. JSON-serializable. */
export interface SuspendedState {
  provider: string;
  model: string;
  cwd: string;
  /** The provider's own conversation id (for Claude, the CLI's session id). */
  providerRef?: string;
  data?: Record<string, unknown>;
}

export interface StartOptions {
  /** Continue the provider's conversation `providerRef` instead of starting a new one. */
  continue?: boolean;
}

/**
 * One running agent conversation. `events()` yields everything the agent does until the session ends,
 * across turns; it completes after terminate() or suspend(), and after the agent process dies (with an
 * `error` event first when that was not asked for).
 */
export interface AgentSession {
  readonly id: string;
  readonly model: string;
  /** The provider's conversation id, once known. */
  readonly providerRef?: string;
  /** The agent's OS process id while one runs. */
  readonly pid?: number;
  start(input: AgentInput, options?: StartOptions): Promise<void>;
  events(): AsyncIterable<SessionEventDraft>;
  /** Starts the next turn. Only called while the agent is idle: the sessions service queues input. */
  send(input: AgentInput): Promise<void>;
  /** Stops the running turn; its `result` says `interrupted`, and the conversation keeps it. */
  interrupt(): Promise<void>;
  /**
   * Gives the agent input in the middle of the running turn, which goes on with it (no new turn, no
   * extra `result`). Only called while a turn runs, and only for providers with `capabilities.steer`.
   */
  steer?(input: AgentInput): Promise<void>;
  /**
   * Answers a `permission_request` this session emitted; false when it is not waiting (answered already,
   * or withdrawn by the agent). Only providers that ask implement it.
   */
  answerPermission?(requestId: string, decision: PermissionDecision): boolean;
  terminate(): Promise<void>;
  suspend(): Promise<SuspendedState>;
  resume(state: SuspendedState): Promise<void>;
}

export interface AgentProviderPort {
  readonly name: string;
  readonly capabilities: ProviderCapabilities;
  /** false: used only when a session names it or one of its models (demo and test providers). */
  readonly autoSelect?: boolean;
  /**
   * Words its agent processes' command lines contain: after a crash, a recorded agent pid is ended only
   * while it still runs one of these (the pid may have been reused). None: no process of its own.
   */
  readonly processNames?: readonly string[];
  models(): ModelInfo[];
  /** The canonical model for an id or alias, or undefined when the provider does not serve it. */
  resolveModel(model?: string): ModelInfo | undefined;
  createSession(config: SessionConfig): AgentSession;
  /**
   * Warm start: the id of an agent started ahead for `request`, reserved for the caller; undefined when
   * there is none. The caller must create the session under that id, in `<workspace root>/<id>`, right
   * away; the agent is then the one createSession returns, if the rest of the config matches too.
   */
  claimWarmSession?(request: WarmSessionRequest): string | undefined;
  /**
   * Fork: a new conversation for the session `target` (in `target.cwd`, which holds the parent's files
   * as they were at that turn) that holds the first `turn` turns of the conversation `parent` (turns
   * count from 1, one per `result`). Returns the state the new session resumes from. Only for providers
   * with `capabilities.fork`; the parent may be running (its later turns are left out).
   */
  forkConversation?(
    parent: SuspendedState,
    turn: number,
    target: SessionConfig,
  ): Promise<SuspendedState>;
  /**
   * Cuts the conversation of a session whose agent is suspended back to its first `turn` turns.
   * Returns the state to resume it from. Only for providers with `capabilities.rewind`.
   */
  rewindConversation?(
    state: SuspendedState,
    turn: number,
    config: SessionConfig,
  ): Promise<SuspendedState>;
  healthCheck(): Promise<ProviderHealth>;
  metrics(): ProviderMetrics;
}
