import { Body, Controller, Delete, Get, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiBody, ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import { ErrorCode } from '@jelmore/contracts';
import { ApiError, ApiErrors, ApiKeyProtected } from '../api/api-docs.decorator';
import type { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { type CreatedShare, type ShareView, SharesService } from './shares.service';

const SESSION_ID = '3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d';
const TOKEN = 'jls_q3Vx8dT0hZp2WmYk7cLr5sNf1uGa9eJb4oXiC6tQwEy';
export const SHARE_EXAMPLE: ShareView = {
  id: 'shr_7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
  sessionId: SESSION_ID,
  createdAt: '2026-01-01T12:00:00.000Z',
  expiresAt: '2026-01-02T12:00:00.000Z',
  revokedAt: null,
  status: 'active',
};
const CREATED_EXAMPLE: CreatedShare = {
  ...SHARE_EXAMPLE,
  token: TOKEN,
  url: `https://jelmore.example.com/share/${TOKEN}`,
};
const NOT_FOUND = { code: ErrorCode.ShareNotFound, message: 'No such share link' };

/** A session's read-only share links, managed by its owner's key (or an admin's). */
@ApiTags('shares')
@ApiKeyProtected()
@Controller('v1')
export class SharesController {
  constructor(private readonly shares: SharesService) {}

  @Post('sessions/:id/shares')
  @ApiOperation({
    summary: 'Make a read-only share link of a session',
    description:
      "Anyone with the URL sees the session's transcript, live while it runs, with secrets redacted, " +
      'and can change nothing. The token is shown only here (the server keeps its hash); see docs/shares.md.',
  })
  @ApiBody({
    required: false,
    schema: {
      type: 'object',
      properties: {
        expiresInSeconds: {
          type: 'integer',
          minimum: 1,
          description:
            'Default JELMORE_SHARE_DEFAULT_TTL_SECONDS, at most JELMORE_SHARE_MAX_TTL_SECONDS',
        },
      },
    },
    examples: { default: { value: {} }, hour: { value: { expiresInSeconds: 3600 } } },
  })
  @ApiCreatedResponse({ description: 'The link, with its token', example: CREATED_EXAMPLE })
  @ApiErrors(400, 404)
  create(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: unknown,
    @CurrentPrincipal() principal: Principal,
    @Req() req: Request,
  ): Promise<CreatedShare> {
    return this.shares.create(
      principal,
      id,
      emptyAsUndefined(body),
      `${req.protocol}://${req.get('host')}`,
    );
  }

  @Get('sessions/:id/shares')
  @ApiOperation({ summary: "A session's share links, without their tokens" })
  @ApiOkResponse({ example: [SHARE_EXAMPLE] })
  @ApiErrors(400, 404)
  list(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ShareView[]> {
    return this.shares.list(principal, id);
  }

  @Delete('sessions/:id/shares/:shareId')
  @ApiOperation({ summary: 'Revoke one of a session’s share links by its id' })
  @ApiOkResponse({
    description: 'The revoked link',
    example: { ...SHARE_EXAMPLE, status: 'revoked' },
  })
  @ApiError(404, NOT_FOUND, 'Unknown, or of a session the key does not see')
  revokeById(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('shareId') shareId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ShareView> {
    return this.shares.revokeById(principal, id, shareId);
  }

  @Delete('shares/:token')
  @ApiOperation({
    summary: 'Revoke a share link by its token',
    description: 'With the key of the session’s owner or an admin key; the token itself is no key.',
  })
  @ApiOkResponse({
    description: 'The revoked link',
    example: { ...SHARE_EXAMPLE, status: 'revoked' },
  })
  @ApiError(404, NOT_FOUND, 'Unknown, or of a session the key does not see')
  revokeByToken(
    @Param('token') token: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ShareView> {
    return this.shares.revokeByToken(principal, token);
  }
}

/** No body at all arrives as `{}` from Express's JSON parser, or as undefined. */
function emptyAsUndefined(body: unknown): unknown {
  return body && typeof body === 'object' && Object.keys(body).length === 0 ? undefined : body;
}
