import { ArgumentsHost, Catch, ExceptionFilter, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import { toErrorBody } from './error-body';

/** Every HTTP error leaves as `{ error: { code, message } }`, with no stack or internals. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return;
    const res = host.switchToHttp().getResponse<Response>();
    // A failed readiness check answers with its report (which check is down, and why), as probes expect.
    if (
      exception instanceof ServiceUnavailableException &&
      isHealthReport(exception.getResponse())
    ) {
      res.status(exception.getStatus()).json(exception.getResponse());
      return;
    }
    const { status, body } = toErrorBody(exception);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (body.retryAfter !== undefined) res.setHeader('Retry-After', String(body.retryAfter));
    res.status(status).json({ error: body });
  }
}

/** Terminus's answer: `{ status: 'error', info, error, details }`. */
function isHealthReport(response: unknown): boolean {
  return (
    typeof response === 'object' &&
    response !== null &&
    (response as { status?: unknown }).status === 'error' &&
    'details' in response
  );
}
