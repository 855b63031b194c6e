import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { Checkpoint, RewindResult, SessionDiff, SessionResource } from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import { ApiErrors, ApiJsonBody, ApiKeyProtected } from './api-docs.decorator';
import {
  CHECKPOINTS_EXAMPLE,
  CheckpointDto,
  DIFF_EXAMPLE,
  REWIND_EXAMPLE,
  RewindResultDto,
  SessionDiffDto,
} from './history.dto';
import { SESSION_EXAMPLE, SessionResourceDto } from './responses.dto';
import { DiffQueryDto, ForkDto, RewindDto } from './session.dto';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';

const PATCH_TYPE = 'text/x-diff';

/** A session's history: its checkpoints, the diff between two, the rewind to one, the fork from one. */
@ApiTags('sessions')
@ApiKeyProtected()
@ApiExtraModels(SessionDiffDto)
@Controller('v1/sessions')
export class SessionHistoryController {
  constructor(private readonly sessions: SessionsService) {}

  @Get(':id/checkpoints')
  @ApiOperation({
    summary: "List a session's checkpoints",
    description:
      'One per turn (0: as the session started), for sessions whose cwd is in a git repository; ' +
      'each is a commit of its files, tracked and untracked, without what .gitignore ignores.',
  })
  @ApiOkResponse({ type: [CheckpointDto], example: CHECKPOINTS_EXAMPLE })
  @ApiErrors(400, 404)
  async checkpoints(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Checkpoint[]> {
    return this.sessions.checkpointsOf(id, principal);
  }

  @Get(':id/diff')
  @ApiOperation({
    summary: "A session's changes between two turns",
    description:
      "JSON by default; with `Accept: text/x-diff` or `format=patch`, git's unified diff. Default: " +
      "from the session's start to its files now; one turn's own changes: from=n-1&to=n.",
  })
  @ApiOkResponse({
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(SessionDiffDto) },
        example: DIFF_EXAMPLE,
      },
      [PATCH_TYPE]: { schema: { type: 'string' }, example: DIFF_EXAMPLE.patch },
    },
  })
  @ApiErrors(400, 404)
  async diff(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: DiffQueryDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionDiff | string> {
    const diff = await this.sessions.diff(id, query.from, query.to, principal);
    if (query.format === 'patch' || (query.format === undefined && accept?.includes(PATCH_TYPE))) {
      res.type(PATCH_TYPE);
      return diff.patch;
    }
    return diff;
  }

  @Post(':id/rewind')
  @HttpCode(200)
  @ApiOperation({
    summary: "Put a session's files back as they were at a turn",
    description:
      'The session must be idle, suspended or interrupted. Where its provider can (capabilities.rewind) ' +
      'the conversation is cut back to the turn too (its agent restarts); otherwise it is kept whole.',
  })
  @ApiJsonBody(RewindDto, {
    turn: { summary: 'Back to the end of turn 1', value: { turn: 1 } },
    start: { summary: 'Back to the files the session started with', value: { turn: 0 } },
  })
  @ApiOkResponse({ type: RewindResultDto, example: REWIND_EXAMPLE })
  @ApiErrors(400, 404, 409)
  async rewind(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: RewindDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<RewindResult> {
    return this.sessions.rewind(id, body.turn, principal);
  }

  @Post(':id/fork')
  @ApiOperation({
    summary: 'Start a new session from this one at a turn',
    description:
      "The new session's conversation is this one's up to the turn (default: its last) and its files " +
      "are that turn's checkpoint, in a git worktree of its own; it waits idle for input. " +
      'Providers that cannot fork (capabilities.fork) answer 409 FORK_UNSUPPORTED.',
  })
  @ApiJsonBody(ForkDto, {
    last: { summary: 'From its last turn', value: {} },
    turn: { summary: 'From the end of turn 1', value: { turn: 1 } },
  })
  @ApiCreatedResponse({
    type: SessionResourceDto,
    example: {
      ...SESSION_EXAMPLE,
      state: 'idle',
      parentId: SESSION_EXAMPLE.id,
      forkedFrom: { sessionId: SESSION_EXAMPLE.id, turn: 1 },
    },
  })
  @ApiErrors(400, 404, 409)
  async fork(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: ForkDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.fork(id, body.turn, principal);
  }
}
