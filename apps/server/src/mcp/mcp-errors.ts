import { ErrorCode as RpcCode } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { ErrorBody, ValidationError } from '@jelmore/contracts';
import { toErrorBody } from '../common/error-body';

/** What the SDK's Protocol sends as a JSON-RPC error: it reads `code`, `message` and `data`. */
export interface RpcError extends Error {
  code: number;
  data: ErrorBody;
}

/**
 * Any failure of a tool call as a JSON-RPC error whose `data` is the body REST and WS send
 * (`{ code, message, details?, retryAfter? }`): the caller's mistakes (4xx) as Invalid params, the rest
 * as Internal error. Not an `isError` result: the SDK's client checks an error result's
 * structuredContent against the tool's output schema, so the code could not travel there. The message
 * starts with the code as well, for clients that show the model only the message.
 */
export function toRpcError(err: unknown): RpcError {
  const { status, body } = toErrorBody(err);
  const error = new Error(`${body.code}: ${body.message}`) as RpcError;
  error.code = status < 500 ? RpcCode.InvalidParams : RpcCode.InternalError;
  error.data = body;
  return error;
}

/** Zod's issues as the ValidationError REST answers with: one message, the top-level fields named. */
export function argumentsError(tool: string, error: z.ZodError): ValidationError {
  const messages = error.issues.map((issue) =>
    issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
  );
  // An unknown argument is reported at the top level, with its name in `keys`.
  const named = error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys : [issue.path[0]],
  );
  const fields = [...new Set(named)].filter((f): f is string => typeof f === 'string');
  return new ValidationError(
    `Invalid arguments for ${tool}: ${messages.join('; ')}`,
    fields.length ? { fields } : undefined,
  );
}
