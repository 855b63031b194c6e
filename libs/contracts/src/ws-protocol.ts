import type { ErrorBody } from './errors';
import type { SessionEvent } from './events';
import type { PendingPermission } from './permissions';
import type { RewindResult, SessionResource } from './session';

export const WS_NAMESPACE = '/sessions';

/** Client → server messages of the `/sessions` namespace; each is acked with a `WsAck`. */
export const WsClientEvents = {
  create: 'session:create',
  subscribe: 'session:subscribe',
  unsubscribe: 'session:unsubscribe',
  input: 'session:input',
  interrupt: 'session:interrupt',
  suspend: 'session:suspend',
  resume: 'session:resume',
  terminate: 'session:terminate',
  /** `{ sessionId, turn? }`: a new session from the session's conversation and files at that turn. */
  fork: 'session:fork',
  /** `{ sessionId, turn }`: the session's files (and, where the provider can, conversation) as at that turn. */
  rewind: 'session:rewind',
  /** Answers a `permission_request`: `{ sessionId, requestId, allow, reason? }`. */
  permissionReply: 'permission:reply',
} as const;

/** Server → client messages. */
export const WsServerEvents = {
  /** One SessionEvent. */
  event: 'session:event',
  /** Several SessionEvents in seq order (one committed batch). */
  events: 'session:events',
  /** A subscription ended with an error, e.g. LAGGED: re-subscribe with `after: details.lastSeq`. */
  error: 'session:error',
  /**
   * The node is shutting down (`{ reconnect: true, reason }`): its sessions are being suspended and the
   * connection will close; reconnect (to another node), resume, and re-subscribe with `after`.
   */
  shutdown: 'server:shutdown',
} as const;

export type WsAck<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export interface SessionStreamError extends ErrorBody {
  sessionId: string;
}

/** `server:shutdown`: the node is going away; reconnect (to another node), resume, re-subscribe. */
export interface ShutdownNotice {
  reconnect: true;
  reason: string;
}

export interface WsServerToClient {
  'session:event': (event: SessionEvent) => void;
  'session:events': (events: SessionEvent[]) => void;
  'session:error': (error: SessionStreamError) => void;
  'server:shutdown': (notice: ShutdownNotice) => void;
}

export type CreateSessionAck = WsAck<{ session: SessionResource }>;
/** The acks of `session:suspend`, `session:resume` and `session:terminate`: the session as it is now. */
export type SessionAck = WsAck<{ session: SessionResource }>;
/** `pendingPermissions`: the session's permission requests still waiting for an answer, whatever `after` was. */
export type SubscribeAck = WsAck<{ lastSeq: number; pendingPermissions: PendingPermission[] }>;

/** What each client event is acked with. */
export interface WsClientAcks {
  'session:create': CreateSessionAck;
  'session:subscribe': SubscribeAck;
  'session:unsubscribe': WsAck;
  'session:input': WsAck;
  'session:interrupt': WsAck;
  'session:suspend': SessionAck;
  'session:resume': SessionAck;
  'session:terminate': SessionAck;
  /** The new session. */
  'session:fork': SessionAck;
  'session:rewind': WsAck<RewindResult>;
  'permission:reply': WsAck;
}
