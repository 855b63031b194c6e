import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { ApiKeysService, bearerToken, Principal } from './api-keys.service';
import { IS_PUBLIC } from './public.decorator';

export type AuthenticatedRequest = Request & { principal?: Principal };

/** Every REST route needs a valid key, except those marked @Public(). */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = this.keys.authenticate(bearerToken(req.headers.authorization));
    if (!principal) {
      throw new JelmoreError(
        ErrorCode.Unauthorized,
        'A valid API key is required: Authorization: Bearer <key>',
      );
    }
    req.principal = principal;
    return true;
  }
}
