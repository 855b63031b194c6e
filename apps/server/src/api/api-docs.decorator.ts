import { applyDecorators, Type } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiExtraModels,
  ApiResponse,
  getSchemaPath,
  type ExampleObject,
} from '@nestjs/swagger';
import { ErrorCode, type ErrorBody } from '@jelmore/contracts';
import { ErrorResponseDto } from './responses.dto';

/** The error statuses the API answers with, each with what it means and a body a client would see. */
const ERRORS = {
  400: {
    description:
      'The body, query or id is invalid (VALIDATION_FAILED), or no provider serves the model',
    example: { code: ErrorCode.ValidationFailed, message: 'query should not be empty' },
  },
  401: {
    description: 'No valid API key',
    example: {
      code: ErrorCode.Unauthorized,
      message: 'A valid API key is required: Authorization: Bearer <key>',
    },
  },
  402: {
    description: "The session's or the key's cost budget is spent",
    example: {
      code: ErrorCode.BudgetExceeded,
      message: 'The key budget of $5 is reached: $5.0012 spent',
      details: { budget: 'key', limitUsd: 5, spentUsd: 5.0012 },
    },
  },
  403: {
    description: 'The key may not do this: the route needs an admin key',
    example: { code: ErrorCode.Forbidden, message: 'The Prometheus metrics need an admin key' },
  },
  404: {
    description: "No such session, or another key's (as if it did not exist)",
    example: {
      code: ErrorCode.SessionNotFound,
      message: 'Session 6c8d5709-7e95-4529-a5f1-18ac3dddef69 not found',
    },
  },
  409: {
    description: 'The session is not in a state that allows this',
    example: {
      code: ErrorCode.SessionNotActive,
      message: 'Session 6c8d5709-7e95-4529-a5f1-18ac3dddef69 is suspended; resume it first',
      details: { provider: 'claude', sessionId: '6c8d5709-7e95-4529-a5f1-18ac3dddef69' },
    },
  },
  413: {
    description: 'The body is larger than the server takes (a query of the largest size fits)',
    example: { code: ErrorCode.PayloadTooLarge, message: 'request entity too large' },
  },
  415: {
    description: 'An attachment of a type the server takes for no turn (by its bytes)',
    example: {
      code: ErrorCode.MediaTypeUnsupported,
      message: 'The bytes are of no type an attachment may have (image/png, image/jpeg, ...)',
    },
  },
  429: {
    description: 'Over the rate limit: retry after Retry-After seconds',
    example: {
      code: ErrorCode.RateLimited,
      message: 'Too many requests to this route: at most 600 per 60 s; retry in 12 s',
      retryAfter: 12,
    },
  },
  503: {
    description: 'No provider can take the session now (disabled, unhealthy, at capacity)',
    example: {
      code: ErrorCode.ProviderUnavailable,
      message: "Provider 'claude' is unavailable: at capacity (10/10 sessions)",
      details: { provider: 'claude' },
    },
  },
} satisfies Record<number, { description: string; example: ErrorBody }>;

export type ErrorStatus = keyof typeof ERRORS;

const RETRY_AFTER = {
  'Retry-After': {
    description: 'Seconds until a retry may succeed',
    schema: { type: 'integer', example: 12 },
  },
};

/** Documents error responses in the `{ error: { code, message } }` shape, with an example each. */
export function ApiErrors(...statuses: ErrorStatus[]) {
  return applyDecorators(...statuses.map((status) => ApiError(status)));
}

/** One error response; `example` and `description` replace the status's usual ones. */
export function ApiError(status: ErrorStatus, example?: ErrorBody, description?: string) {
  return ApiResponse({
    status,
    description: description ?? ERRORS[status].description,
    type: ErrorResponseDto,
    example: { error: example ?? ERRORS[status].example },
    ...(status === 429 ? { headers: RETRY_AFTER } : {}),
  });
}

/** One error status with several named examples, for a route that answers it for more than one reason. */
export function ApiErrorCases(
  status: ErrorStatus,
  description: string,
  cases: Record<string, { summary: string; value: ErrorBody }>,
) {
  return ApiResponse({
    status,
    description,
    type: ErrorResponseDto,
    examples: Object.fromEntries(
      Object.entries(cases).map(([name, { summary, value }]) => [
        name,
        { summary, value: { error: value } },
      ]),
    ),
  });
}

/** 429 for a route with more than one limit: the caller's own, and the one given here. */
export function ApiRateLimits(also: { summary: string; value: ErrorBody }) {
  return ApiResponse({
    status: 429,
    description: ERRORS[429].description,
    type: ErrorResponseDto,
    headers: RETRY_AFTER,
    examples: {
      key: { summary: 'Requests per API key', value: { error: ERRORS[429].example } },
      other: { summary: also.summary, value: { error: also.value } },
    },
  });
}

/** A controller whose routes need an API key: the bearer scheme, and its 401 and 429. */
export function ApiKeyProtected() {
  return applyDecorators(ApiBearerAuth(), ApiErrors(401, 429));
}

/** A JSON request body of `type`, with named examples. */
export function ApiJsonBody(type: Type<unknown>, examples: Record<string, ExampleObject>) {
  return applyDecorators(
    ApiExtraModels(type),
    ApiBody({ schema: { $ref: getSchemaPath(type) }, examples }),
  );
}
