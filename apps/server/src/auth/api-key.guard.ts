import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import type { Request } from 'express';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { JelmoreConfig } from '../config/jelmore.config';
import { ApiKeysService, bearerToken, Principal, shareTokenRefusal } from './api-keys.service';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { ACCEPTS_DELEGATION, IS_PUBLIC } from './public.decorator';
import { DelegationEndpoint } from '../mcp/delegation-endpoint';

export type AuthenticatedRequest = Request & { principal?: Principal };

/**
 * Every REST route needs a valid key, except those marked @Public(). Failed attempts count per client
 * address before anything else runs (the per-key throttler comes after authentication): past the
 * limit, 429 RATE_LIMITED with Retry-After.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly failures: AuthFailureLimiter;

  constructor(
    private readonly keys: ApiKeysService,
    private readonly reflector: Reflector,
    private readonly delegation: DelegationEndpoint,
    config: JelmoreConfig,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
  ) {
    this.failures = new AuthFailureLimiter(
      storage,
      config.authFailureLimit,
      config.rateLimitWindowSeconds * 1000,
    );
  }

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const refused = this.failures.refusal(req.ip);
    if (refused) throw refused;
    const token = bearerToken(req.headers.authorization);
    // A share link's token reads its one session through /v1/shared only.
    const shareToken = shareTokenRefusal(token, firstValue(req.headers['x-api-key']));
    if (shareToken) throw shareToken;
    // A delegation token is never a key: valid only where a route takes one, refused elsewhere.
    const principal = this.delegation.tokens.isDelegationToken(token)
      ? this.acceptsDelegation(context)
        ? this.delegation.tokens.verify(token)
        : undefined
      : this.keys.authenticate(token);
    if (!principal) {
      this.failures.recordFailure(req.ip);
      throw new JelmoreError(
        ErrorCode.Unauthorized,
        'A valid API key is required: Authorization: Bearer <key>',
      );
    }
    req.principal = principal;
    return true;
  }

  private acceptsDelegation(context: ExecutionContext): boolean {
    return (
      this.reflector.getAllAndOverride<boolean>(ACCEPTS_DELEGATION, [
        context.getHandler(),
        context.getClass(),
      ]) ?? false
    );
  }
}

function firstValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}
