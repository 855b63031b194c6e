import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import { RateLimitedError } from '@jelmore/contracts';
import type { AuthenticatedRequest } from './api-key.guard';

/**
 * Rate limits count per API key (per address for unauthenticated routes). REST only: the throttler reads
 * HTTP requests and responses, which a WS message does not have.
 */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  override async canActivate(context: ExecutionContext): Promise<boolean> {
    return context.getType() !== 'http' || super.canActivate(context);
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    const request = req as unknown as AuthenticatedRequest;
    return request.principal ? `key:${request.principal.id}` : `ip:${request.ip ?? 'unknown'}`;
  }

  /**
   * The route and the tracker, as they are: the library hashes them (SHA-256) for every request and
   * every throttler, a few µs each (bench/ rest), for a key that only ever lives in this process.
   */
  protected override generateKey(context: ExecutionContext, tracker: string, name: string): string {
    return `${context.getClass().name}-${context.getHandler().name}-${name}-${tracker}`;
  }

  /** Past either limit (the window's or the burst's): RATE_LIMITED with the seconds to wait. */
  protected override throwThrottlingException(
    _context: ExecutionContext,
    { limit, ttl, timeToBlockExpire }: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, timeToBlockExpire);
    throw new RateLimitedError(
      `Too many requests to this route: at most ${limit} per ${Math.round(ttl / 100) / 10} s; retry in ${retryAfter} s`,
      retryAfter,
    );
  }
}
