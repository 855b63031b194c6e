import {
  Body,
  Controller,
  Delete,
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
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import {
  ApiError,
  ApiErrors,
  ApiJsonBody,
  ApiKeyProtected,
  ApiRateLimits,
} from './api-docs.decorator';
import {
  EVENTS_EXAMPLE,
  EventsPageDto,
  OkDto,
  SESSION_EXAMPLE,
  SessionResourceDto,
  SSE_EXAMPLE,
} from './responses.dto';
import { CreateSessionDto, EventsQueryDto, InputDto } from './session.dto';
import { writeSse } from './sse';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';

@ApiTags('sessions')
@ApiKeyProtected()
@ApiExtraModels(EventsPageDto)
@Controller('v1/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @ApiOperation({
    summary: 'Start a session',
    description:
      'Runs the query on the named provider, or on the one selection picks (model, requirements, ' +
      'health, load, cost). Follow it with GET /v1/sessions/{id}/events or Socket.IO.',
  })
  @ApiJsonBody(CreateSessionDto, {
    minimal: {
      summary: 'A query; the server picks',
      value: { query: 'Write hello.py and run it' },
    },
    named: {
      summary: 'Provider, model, directory and budget',
      value: {
        query: 'Add a unit test for the parser',
        provider: 'claude',
        model: 'sonnet',
        cwd: 'my-project',
        maxBudgetUsd: 0.5,
      },
    },
    requirements: {
      summary: 'Requirements for selection',
      value: {
        query: 'Refactor the billing module',
        requirements: { capabilities: ['tools', 'fileOperations'], cost_sensitive: true },
      },
    },
  })
  @ApiCreatedResponse({
    description: 'The session, already starting its first turn',
    type: SessionResourceDto,
    example: SESSION_EXAMPLE,
  })
  @ApiErrors(400, 402, 503)
  @ApiError(
    404,
    { code: 'PROVIDER_NOT_FOUND', message: "Unknown provider 'gpt'; known: claude, opencode" },
    'The named provider does not exist',
  )
  @ApiRateLimits({
    summary: "Sessions per provider (the provider's sessions_per_minute)",
    value: {
      code: 'RATE_LIMITED',
      message: "Provider 'claude' started its 30 sessions per 60 s; the next may start in 7 s",
      details: { provider: 'claude' },
      retryAfter: 7,
    },
  })
  create(
    @Body() dto: CreateSessionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.create({ ...dto.toInput(), owner: principal.id });
  }

  @Get()
  @ApiOperation({ summary: "List the caller's sessions (an admin key's: all)" })
  @ApiOkResponse({ type: [SessionResourceDto], example: [SESSION_EXAMPLE] })
  list(@CurrentPrincipal() principal: Principal): Promise<SessionResource[]> {
    return this.sessions.list(principal);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get a session' })
  @ApiOkResponse({ type: SessionResourceDto, example: SESSION_EXAMPLE })
  @ApiErrors(400, 404)
  get(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.get(id, principal);
  }

  /** JSON by default; with `Accept: text/event-stream`, replay then live as SSE (`id:` is the seq). */
  @Get(':id/events')
  @ApiOperation({
    summary: "Read a session's events",
    description:
      'JSON: the committed events after `after`, in seq order. With `Accept: text/event-stream`: ' +
      'the same replay, then live events as Server-Sent Events (`id:` is the seq; a reconnecting ' +
      'client resumes with Last-Event-ID) until the session ends.',
  })
  @ApiOkResponse({
    description: 'Events after `after`, in seq order',
    content: {
      'application/json': {
        schema: { $ref: getSchemaPath(EventsPageDto) },
        example: EVENTS_EXAMPLE,
      },
      'text/event-stream': { schema: { type: 'string' }, example: SSE_EXAMPLE },
    },
  })
  @ApiErrors(400, 404)
  async events(
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: EventsQueryDto,
    @Headers('accept') accept: string | undefined,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res({ passthrough: true }) res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ events: SessionEvent[] } | undefined> {
    if (accept?.includes('text/event-stream')) {
      const resumeFrom = /^\d+$/.test(lastEventId ?? '') ? Number(lastEventId) : undefined;
      await writeSse(res, (signal) =>
        this.sessions.stream(id, resumeFrom ?? query.after ?? 0, signal, principal),
      );
      return undefined;
    }
    return {
      events: await this.sessions.events(id, query.after ?? 0, query.limit ?? 1000, principal),
    };
  }

  @Post(':id/input')
  @HttpCode(202)
  @ApiOperation({ summary: 'Send input: a new turn now when idle, else queued for the next' })
  @ApiJsonBody(InputDto, {
    text: { summary: 'The next instruction', value: { text: 'Now add a test for it' } },
  })
  @ApiAcceptedResponse({
    description: 'Sent now when idle, or queued for the next turn',
    type: OkDto,
    example: { ok: true },
  })
  @ApiErrors(400, 402, 404, 409)
  async input(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: InputDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.sessions.input(id, dto.text, principal);
    return { ok: true };
  }

  @Post(':id/interrupt')
  @HttpCode(202)
  @ApiOperation({ summary: 'Stop the running turn and drop queued input; the session stays' })
  @ApiAcceptedResponse({ type: OkDto, example: { ok: true } })
  @ApiErrors(400, 404, 409)
  async interrupt(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.sessions.interrupt(id, principal);
    return { ok: true };
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @ApiOperation({ summary: 'End the agent process and keep what it needs to resume' })
  @ApiOkResponse({ type: SessionResourceDto, example: { ...SESSION_EXAMPLE, state: 'suspended' } })
  @ApiErrors(400, 404, 409)
  suspend(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.suspend(id, undefined, principal);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Continue a suspended or interrupted session; it waits idle for input' })
  @ApiOkResponse({ type: SessionResourceDto, example: { ...SESSION_EXAMPLE, state: 'idle' } })
  @ApiErrors(400, 404, 409)
  resume(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.resume(id, principal);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'End a session for good; its events stay readable' })
  @ApiOkResponse({
    type: SessionResourceDto,
    example: { ...SESSION_EXAMPLE, state: 'terminated' },
  })
  @ApiErrors(400, 404)
  terminate(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.terminate(id, undefined, principal);
  }
}
