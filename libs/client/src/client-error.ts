import { ErrorCode, type ErrorBody } from '@jelmore/contracts';

/** Failures the client detects itself, next to the server's stable codes (ErrorCode). */
export enum ClientErrorCode {
  /** The server could not be reached (refused, DNS, reset). */
  Network = 'CLIENT_NETWORK',
  /** No answer within the client's timeout. */
  Timeout = 'CLIENT_TIMEOUT',
  /** A stream stayed disconnected longer than its reconnect window. */
  Disconnected = 'CLIENT_DISCONNECTED',
  /** The server answered something that is not the API's JSON. */
  BadResponse = 'CLIENT_BAD_RESPONSE',
  /** This client already streams that session (the server keeps one subscription per socket). */
  AlreadyStreaming = 'CLIENT_ALREADY_STREAMING',
  /** The client was closed. */
  Closed = 'CLIENT_CLOSED',
}

/** Any failed call: the server's `{ code, message, details }`, or a ClientErrorCode. */
export class JelmoreClientError extends Error {
  constructor(
    readonly code: ErrorCode | ClientErrorCode | string,
    message: string,
    /** The HTTP status, for REST answers. */
    readonly status?: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'JelmoreClientError';
  }

  static fromBody(body: ErrorBody, status?: number): JelmoreClientError {
    return new JelmoreClientError(body.code, body.message, status, body.details);
  }

  /** True for the server's refusal of the API key (REST 401 or a refused handshake). */
  get isUnauthorized(): boolean {
    return this.code === (ErrorCode.Unauthorized as string);
  }
}

/** The error for a handshake the server refused (`connect_error` with no retry coming). */
export function refusal(error: Error & { data?: { code?: string } }): JelmoreClientError {
  return new JelmoreClientError(
    error.data?.code ?? ClientErrorCode.Network,
    `Socket.IO connection refused: ${error.message}`,
  );
}
