import { applyDecorators, Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorCode, type SessionEvent } from '@jelmore/contracts';
import { ApiError } from '../api/api-docs.decorator';
import {
  ErrorResponseDto,
  EVENTS_EXAMPLE,
  SESSION_EXAMPLE,
  SSE_EXAMPLE,
} from '../api/responses.dto';
import { EventsQueryDto } from '../api/session.dto';
import { writeSse } from '../api/sse';
import { Public } from '../auth/public.decorator';
import { type SharedSession, SharesService } from './shares.service';

const SHARED_EXAMPLE: SharedSession = {
  id: SESSION_EXAMPLE.id,
  title: SESSION_EXAMPLE.title,
  provider: SESSION_EXAMPLE.provider,
  model: SESSION_EXAMPLE.model,
  state: SESSION_EXAMPLE.state,
  createdAt: SESSION_EXAMPLE.createdAt,
  updatedAt: SESSION_EXAMPLE.updatedAt,
  usage: SESSION_EXAMPLE.usage,
  lastSeq: SESSION_EXAMPLE.lastSeq,
  share: { id: 'shr_7c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', expiresAt: '2026-01-02T12:00:00.000Z' },
};

/** What a share link answers once it stops holding. */
function ApiShareRefusals() {
  return applyDecorators(
    ApiError(
      404,
      { code: ErrorCode.ShareNotFound, message: 'No such share link' },
      'No link has this token',
    ),
    ApiResponse({
      status: 410,
      description: 'The link was revoked, or has expired',
      type: ErrorResponseDto,
      examples: {
        revoked: {
          summary: 'Revoked',
          value: {
            error: { code: ErrorCode.ShareRevoked, message: 'This share link was revoked' },
          },
        },
        expired: {
          summary: 'Expired',
          value: {
            error: { code: ErrorCode.ShareExpired, message: 'This share link has expired' },
          },
        },
      },
    }),
  );
}

/**
 * What a share link opens, without an API key: one session, read-only, every text redacted. There is
 * no write route here, and every other route refuses a share token (SHARE_TOKEN_READ_ONLY).
 */
@Public()
@ApiTags('shares')
@Controller('v1/shared')
export class SharedController {
  constructor(private readonly shares: SharesService) {}

  @Get(':token')
  @ApiOperation({
    summary: 'The shared session (no key: the token is the link)',
    description: 'Safe fields only: no working directory, owner or permission policy.',
  })
  @ApiOkResponse({ example: SHARED_EXAMPLE })
  @ApiShareRefusals()
  session(@Param('token') token: string): Promise<SharedSession> {
    return this.shares.session(token);
  }

  @Get(':token/events')
  @ApiOperation({
    summary: "The shared session's events, redacted",
    description:
      'As GET /v1/sessions/{id}/events: JSON after `after`, or with `Accept: text/event-stream` the ' +
      'replay then live events until the session ends or the link is revoked or expires (then an ' +
      '`event: error` frame with SHARE_REVOKED or SHARE_EXPIRED).',
  })
  @ApiOkResponse({
    description: 'Events after `after`, in seq order, secrets redacted',
    content: {
      'application/json': { example: EVENTS_EXAMPLE },
      'text/event-stream': { schema: { type: 'string' }, example: SSE_EXAMPLE },
    },
  })
  @ApiShareRefusals()
  async events(
    @Param('token') token: string,
    @Query() query: EventsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ events: SessionEvent[] } | undefined> {
    if (accept?.includes('text/event-stream')) {
      const resumeFrom = /^\d+$/.test(lastEventId ?? '') ? Number(lastEventId) : undefined;
      await writeSse(res, (options) =>
        this.shares.stream(token, resumeFrom ?? query.after ?? 0, options),
      );
      return undefined;
    }
    return { events: await this.shares.events(token, query.after ?? 0, query.limit ?? 1000) };
  }
}
