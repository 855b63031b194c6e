/** Stable error codes: clients switch on these, so never rename one. */
export enum ErrorCode {
  ValidationFailed = 'VALIDATION_FAILED',
  /** The request body is larger than the server takes (a query of the largest size fits). */
  PayloadTooLarge = 'PAYLOAD_TOO_LARGE',
  /** The request body is not in a media type the route takes (JSON). */
  UnsupportedMediaType = 'UNSUPPORTED_MEDIA_TYPE',
  /** The key is valid but may not do this (e.g. a non-admin key on an admin-only route). */
  Forbidden = 'FORBIDDEN',
  /** A notification's action token that no notification carried, or named another permission request. */
  PushTokenInvalid = 'PUSH_TOKEN_INVALID',
  /** A notification's action token that answered already: each answers once. */
  PushTokenUsed = 'PUSH_TOKEN_USED',
  /** A notification's action token past its time (JELMORE_PUSH_TOKEN_TTL_SECONDS). */
  PushTokenExpired = 'PUSH_TOKEN_EXPIRED',
  /** A share link (GET /v1/shared/:token) that nobody made, or used with another session's id. */
  ShareNotFound = 'SHARE_NOT_FOUND',
  /** A share link past its expiresAt. */
  ShareExpired = 'SHARE_EXPIRED',
  /** A share link its owner revoked. */
  ShareRevoked = 'SHARE_REVOKED',
  /** A share link's token presented as an API key: it opens the read-only share view, nothing else. */
  ShareTokenReadOnly = 'SHARE_TOKEN_READ_ONLY',
  /** A URL a key registers (webhook, push endpoint) that names or resolves to a loopback, private or link-local address. */
  PrivateAddress = 'PRIVATE_ADDRESS',
  /** An image or document block whose `data` is not base64. */
  InvalidBase64 = 'INVALID_BASE64',
  /** An attachment of a type the server takes for no turn (e.g. an executable), whatever it was called. */
  MediaTypeUnsupported = 'MEDIA_TYPE_UNSUPPORTED',
  /** An attachment's bytes are not of the media type the block declares. */
  MediaTypeMismatch = 'MEDIA_TYPE_MISMATCH',
  /** An attachment, or a turn's attachments together, larger than the configured limit. */
  AttachmentTooLarge = 'ATTACHMENT_TOO_LARGE',
  /** No such attachment for this key (unknown, another key's, or deleted with its sessions' events). */
  AttachmentNotFound = 'ATTACHMENT_NOT_FOUND',
  /** A session middleware refused the input (details: `middleware`, `reason`); nothing was started or queued. */
  InputRefused = 'INPUT_REFUSED',
  /** The session's provider (or the one named) cannot take the turn's images or PDF documents. */
  MultimodalUnsupported = 'MULTIMODAL_UNSUPPORTED',
  /** Fork of a session whose provider cannot fork its conversation (`capabilities.fork`). */
  ForkUnsupported = 'FORK_UNSUPPORTED',
  /** A turn the session has no checkpoint of (fork, rewind, diff). */
  CheckpointNotFound = 'CHECKPOINT_NOT_FOUND',
  /** `isolation: worktree` where it cannot be: the cwd is in no git repository, or the repository is busy. */
  WorktreeUnavailable = 'WORKTREE_UNAVAILABLE',
  /** A `baseRef` that names no commit of the repository. */
  BaseRefNotFound = 'BASE_REF_NOT_FOUND',
  /** A delegating session may start no more sessions: its delegations would go too deep, or it has as many children as it may. */
  DelegationLimit = 'DELEGATION_LIMIT',
  /** A session asked for an experiment the server's configuration does not have. */
  ExperimentNotFound = 'EXPERIMENT_NOT_FOUND',
  /** `cache: true` on a session that may write: only `permissions: 'deny-writes'` sessions are cached. */
  CacheNeedsReadOnly = 'CACHE_NEEDS_READ_ONLY',
  /** A git command Jelmore ran failed (details: the command and git's message). */
  GitFailed = 'GIT_FAILED',
  NotFound = 'NOT_FOUND',
  SessionNotFound = 'SESSION_NOT_FOUND',
  /** No such permission request waits for an answer: unknown, or settled already (answered, timed out, withdrawn). */
  PermissionRequestNotFound = 'PERMISSION_REQUEST_NOT_FOUND',
  ProviderNotFound = 'PROVIDER_NOT_FOUND',
  ModelNotSupported = 'MODEL_NOT_SUPPORTED',
  ProviderUnavailable = 'PROVIDER_UNAVAILABLE',
  ProviderError = 'PROVIDER_ERROR',
  SessionError = 'SESSION_ERROR',
  SessionNotActive = 'SESSION_NOT_ACTIVE',
  /** `input` with mode `steer` on a session whose provider cannot take input mid-turn (`capabilities.steer`). */
  SteerUnsupported = 'STEER_UNSUPPORTED',
  AgentExited = 'AGENT_EXITED',
  AgentError = 'AGENT_ERROR',
  Lagged = 'LAGGED',
  BudgetExceeded = 'BUDGET_EXCEEDED',
  RateLimited = 'RATE_LIMITED',
  Unauthorized = 'UNAUTHORIZED',
  /** A Socket.IO event the server has no handler for (answered when it asked for an ack). */
  UnknownEvent = 'UNKNOWN_EVENT',
  /** The node is shutting down: retry on another (the load balancer has taken it out already). */
  ShuttingDown = 'SHUTTING_DOWN',
  /** The node that runs the session did not answer a forwarded command. */
  NodeUnavailable = 'NODE_UNAVAILABLE',
  /** A wait for a session's next result (MCP `wait`, `wait_for_result`) timed out; the session goes on. */
  WaitTimeout = 'WAIT_TIMEOUT',
  /** A session middleware threw (details: `middleware`): the turn failed; the session goes on. */
  MiddlewareFailed = 'MIDDLEWARE_FAILED',
  Internal = 'INTERNAL',
}

/** Base of every error Jelmore reports to clients: a stable code and a message safe to show. */
export class JelmoreError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends JelmoreError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.ValidationFailed, message, details);
  }
}

export class NotFoundError extends JelmoreError {
  constructor(message: string, code: ErrorCode = ErrorCode.NotFound) {
    super(code, message);
  }
}

export class ProviderError extends JelmoreError {
  constructor(
    message: string,
    readonly provider: string,
    readonly sessionId?: string,
    code: ErrorCode = ErrorCode.ProviderError,
  ) {
    super(code, message, { provider, ...(sessionId ? { sessionId } : {}) });
  }
}

export class ProviderNotFoundError extends ProviderError {
  constructor(provider: string, known: string[]) {
    super(
      `Unknown provider '${provider}'; known: ${known.join(', ') || 'none'}`,
      provider,
      undefined,
      ErrorCode.ProviderNotFound,
    );
  }
}

export class ModelNotSupportedError extends ProviderError {
  /** Without `provider`: no registered provider serves the model. */
  constructor(
    readonly model: string,
    provider?: string,
  ) {
    super(
      provider
        ? `Model '${model}' is not supported by provider '${provider}'`
        : `No provider serves model '${model}'`,
      provider ?? 'none',
      undefined,
      ErrorCode.ModelNotSupported,
    );
  }
}

export class ProviderUnavailableError extends ProviderError {
  constructor(provider: string, reason: string) {
    super(
      `Provider '${provider}' is unavailable: ${reason}`,
      provider,
      undefined,
      ErrorCode.ProviderUnavailable,
    );
  }
}

export class SessionError extends ProviderError {
  constructor(
    message: string,
    provider: string,
    sessionId?: string,
    code = ErrorCode.SessionError,
  ) {
    super(message, provider, sessionId, code);
  }
}

/** A cost budget was reached; names which budget, its limit and the spend. */
export class BudgetExceededError extends JelmoreError {
  constructor(
    readonly budget: 'session' | 'key',
    readonly limitUsd: number,
    readonly spentUsd: number,
  ) {
    super(
      ErrorCode.BudgetExceeded,
      `The ${budget} budget of $${limitUsd} is reached: $${spentUsd} spent`,
      { budget, limitUsd, spentUsd },
    );
  }
}

/** A rate limit was reached: a slot frees in `retryAfter` seconds (HTTP: the Retry-After header). */
export class RateLimitedError extends JelmoreError {
  constructor(
    message: string,
    readonly retryAfter: number,
    details?: Record<string, unknown>,
  ) {
    super(ErrorCode.RateLimited, message, details);
  }
}

/** What a client receives for any failed request: over WS in the ack, over HTTP as the body. */
export interface ErrorBody {
  code: ErrorCode | string;
  message: string;
  details?: Record<string, unknown>;
  /** With RATE_LIMITED: seconds until the request may succeed. */
  retryAfter?: number;
}

export class ShuttingDownError extends JelmoreError {
  constructor() {
    super(
      ErrorCode.ShuttingDown,
      'This node is shutting down; retry, another node will take the request',
    );
  }
}
