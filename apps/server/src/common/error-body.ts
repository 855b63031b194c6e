import { HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ErrorBody, ErrorCode, JelmoreError, RateLimitedError } from '@jelmore/contracts';

const logger = new Logger('Errors');

/** The HTTP status for each stable code. */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.ValidationFailed:
    case ErrorCode.InvalidBase64:
    case ErrorCode.MediaTypeMismatch:
    case ErrorCode.MultimodalUnsupported:
    case ErrorCode.ModelNotSupported:
    case ErrorCode.UnknownEvent:
    case ErrorCode.BaseRefNotFound:
    case ErrorCode.ExperimentNotFound:
    case ErrorCode.CacheNeedsReadOnly:
    case ErrorCode.PrivateAddress:
      return HttpStatus.BAD_REQUEST;
    case ErrorCode.InputRefused:
      return HttpStatus.UNPROCESSABLE_ENTITY;
    case ErrorCode.Unauthorized:
      return HttpStatus.UNAUTHORIZED;
    case ErrorCode.Forbidden:
    case ErrorCode.PushTokenInvalid:
    case ErrorCode.PushTokenUsed:
    case ErrorCode.PushTokenExpired:
    case ErrorCode.ShareTokenReadOnly:
      return HttpStatus.FORBIDDEN;
    case ErrorCode.ShareExpired:
    case ErrorCode.ShareRevoked:
      return HttpStatus.GONE;
    case ErrorCode.PayloadTooLarge:
    case ErrorCode.AttachmentTooLarge:
      return HttpStatus.PAYLOAD_TOO_LARGE;
    case ErrorCode.UnsupportedMediaType:
    case ErrorCode.MediaTypeUnsupported:
      return HttpStatus.UNSUPPORTED_MEDIA_TYPE;
    case ErrorCode.NotFound:
    case ErrorCode.AttachmentNotFound:
    case ErrorCode.SessionNotFound:
    case ErrorCode.PermissionRequestNotFound:
    case ErrorCode.CheckpointNotFound:
    case ErrorCode.ProviderNotFound:
    case ErrorCode.ShareNotFound:
      return HttpStatus.NOT_FOUND;
    case ErrorCode.RateLimited:
      return HttpStatus.TOO_MANY_REQUESTS;
    case ErrorCode.BudgetExceeded:
      return HttpStatus.PAYMENT_REQUIRED;
    case ErrorCode.SessionNotActive:
    case ErrorCode.SteerUnsupported:
    case ErrorCode.ForkUnsupported:
    case ErrorCode.DelegationLimit:
    case ErrorCode.WorktreeUnavailable:
    case ErrorCode.SessionError:
    case ErrorCode.Lagged:
      return HttpStatus.CONFLICT;
    case ErrorCode.ProviderUnavailable:
    case ErrorCode.ShuttingDown:
    case ErrorCode.NodeUnavailable:
      return HttpStatus.SERVICE_UNAVAILABLE;
    case ErrorCode.WaitTimeout:
      return HttpStatus.GATEWAY_TIMEOUT;
    case ErrorCode.GitFailed:
      return HttpStatus.INTERNAL_SERVER_ERROR;
    case ErrorCode.ProviderError:
    case ErrorCode.AgentExited:
    case ErrorCode.AgentError:
      return HttpStatus.BAD_GATEWAY;
    case ErrorCode.MiddlewareFailed:
    case ErrorCode.Internal:
      return HttpStatus.INTERNAL_SERVER_ERROR;
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  400: ErrorCode.ValidationFailed,
  401: ErrorCode.Unauthorized,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  413: ErrorCode.PayloadTooLarge,
  415: ErrorCode.UnsupportedMediaType,
  429: ErrorCode.RateLimited,
};

/**
 * What a client is told about any error: our own errors with their code and message; framework HTTP
 * errors by status; anything else as INTERNAL with no detail (it is logged instead).
 */
export function toErrorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof JelmoreError) {
    const body: ErrorBody = { code: err.code, message: err.message };
    if (err.details) body.details = err.details;
    if (err instanceof RateLimitedError) body.retryAfter = err.retryAfter;
    return { status: statusOf(err.code), body };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code =
      HTTP_CODES[status] ?? (status >= 500 ? ErrorCode.Internal : ErrorCode.ValidationFailed);
    const message = status >= 500 ? 'Internal error' : err.message;
    return { status, body: { code, message } };
  }
  logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  return {
    status: HttpStatus.INTERNAL_SERVER_ERROR,
    body: { code: ErrorCode.Internal, message: 'Internal error' },
  };
}
