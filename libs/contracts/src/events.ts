import type { TurnBlock } from './content';
import type { PermissionResolver } from './permissions';
import type { ExperimentAssignment, SessionRouting } from './traffic';

/** Lifecycle states of a session; `interrupted` marks sessions cut off by a server crash until resumed. */
export const SESSION_STATES = [
  'starting',
  'running',
  'idle',
  'suspended',
  'terminated',
  'failed',
  'interrupted',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<SessionState> = new Set(['terminated', 'failed']);

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export const ZERO_USAGE: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, costUsd: 0 });

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costUsd: Math.round((a.costUsd + b.costUsd) * 1e9) / 1e9,
  };
}

export interface StatusEvent {
  type: 'status';
  from: SessionState | null;
  to: SessionState;
  reason?: string;
  /** On the first (`from: null`): how routing by complexity chose the model, when it did. */
  routing?: SessionRouting;
  /** On the first: the experiment the session takes part in, and its arm. */
  experiment?: ExperimentAssignment;
}
/**
 * A turn's input, the first event of the turn: its text and its attachments by reference (their bytes
 * are at `GET /v1/attachments/:id`), so a replay shows what was asked, with what.
 */
export interface UserEvent {
  type: 'user';
  content: TurnBlock[];
}
export interface AssistantEvent {
  type: 'assistant';
  /** The next piece of the reply, as the model produces it. */
  text: string;
}
export interface ToolUseEvent {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}
export interface ToolResultEvent {
  type: 'tool_result';
  toolUseId: string;
  output: string;
  isError: boolean;
}
/** A tool call waits for a client's decision (sessions with permissions `ask`). */
export interface PermissionRequestEvent {
  type: 'permission_request';
  requestId: string;
  tool: string;
  input: unknown;
  /** The `tool_use` event this request is about, when the provider tells. */
  toolUseId?: string;
}
/** How a permission request was settled; each request gets exactly one. */
export interface PermissionResolvedEvent {
  type: 'permission_resolved';
  requestId: string;
  allow: boolean;
  reason?: string;
  by: PermissionResolver;
}
export interface DirectoryChangedEvent {
  type: 'directory_changed';
  from: string;
  to: string;
}
/**
 * Tokens and cost, in addition to what the session already counted. With `estimated`, a figure priced by
 * Jelmore while the turn runs (from the model call's tokens), for live cost and budgets; it is not added
 * to the session's usage: the provider's own figure for the whole turn follows before its result.
 */
export interface UsageEvent extends Usage {
  type: 'usage';
  estimated?: boolean;
}
export interface ResultEvent {
  type: 'result';
  text: string;
  durationMs: number;
  usage: Usage;
  /** True when the turn was cut short by session:interrupt. */
  interrupted?: boolean;
  /** True when the response cache replayed a recorded turn: no agent ran it, and it cost nothing. */
  cached?: boolean;
}
/**
 * The session's files at the end of a turn, recorded as a git commit (sessions whose cwd is in a git
 * repository); follows the turn's `result`. Turn 0 is the session's start.
 */
export interface CheckpointEvent {
  type: 'checkpoint';
  turn: number;
  commit: string;
  /** Files that differ from the previous checkpoint. */
  filesChanged: number;
}
/**
 * The session's agent started another session through Jelmore's MCP server (delegation). The child
 * has this session as its `parentId`; its own events are in its own stream.
 */
export interface ChildSessionEvent {
  type: 'child_session';
  /** Not `sessionId`: that field of every event names the session whose stream it is in. */
  childSessionId: string;
  provider: string;
  model: string;
}
/**
 * A session this one started (a child, or a child's child) asks for a permission: the request is the
 * child's, relayed so that whoever watches the parent can answer it, on the child's session
 * (`permission:reply` or POST /v1/sessions/:childSessionId/permissions/:requestId).
 */
export interface ChildPermissionRequestEvent extends Omit<PermissionRequestEvent, 'type'> {
  type: 'child_permission_request';
  /** The session that asks. */
  childSessionId: string;
}
/** How a relayed `child_permission_request` was settled. */
export interface ChildPermissionResolvedEvent extends Omit<PermissionResolvedEvent, 'type'> {
  type: 'child_permission_resolved';
  childSessionId: string;
}
export interface ErrorEvent {
  type: 'error';
  code: string;
  message: string;
}

/** What a provider emits; the event log adds sessionId, seq and ts. */
export type SessionEventDraft =
  | StatusEvent
  | UserEvent
  | AssistantEvent
  | ToolUseEvent
  | ToolResultEvent
  | PermissionRequestEvent
  | PermissionResolvedEvent
  | DirectoryChangedEvent
  | UsageEvent
  | ResultEvent
  | CheckpointEvent
  | ChildSessionEvent
  | ChildPermissionRequestEvent
  | ChildPermissionResolvedEvent
  | ErrorEvent;

export type SessionEventType = SessionEventDraft['type'];

export interface EventEnvelope {
  sessionId: string;
  /** Strictly increasing from 1 within a session, assigned by the event log. */
  seq: number;
  /** ISO-8601 time the event log accepted the event. */
  ts: string;
}

export type SessionEvent = EventEnvelope & SessionEventDraft;
