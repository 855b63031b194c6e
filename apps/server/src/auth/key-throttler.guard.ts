import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
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
}
