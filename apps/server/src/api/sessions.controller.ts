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
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import {
  ErrorCode,
  ValidationError,
  type PendingPermission,
  type SessionEvent,
  type SessionResource,
} from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import {
  ApiErrorCases,
  ApiErrors,
  ApiJsonBody,
  ApiKeyProtected,
  ApiRateLimits,
} from './api-docs.decorator';
import {
  ErrorResponseDto,
  EVENTS_EXAMPLE,
  EventsPageDto,
  OkDto,
  PENDING_PERMISSIONS_EXAMPLE,
  PendingPermissionsDto,
  SESSION_EXAMPLE,
  SessionResourceDto,
  SSE_EXAMPLE,
} from './responses.dto';
import {
  CreateSessionDto,
  EventsQueryDto,
  InputDto,
  PermissionReplyDto,
  REQUEST_ID,
} from './session.dto';
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
    images: {
      summary:
        'A query with an image and a document (base64, or attachmentId from POST /v1/attachments)',
      value: {
        query: [
          { type: 'text', text: 'What is wrong on this page? The spec is attached.' },
          { type: 'image', mediaType: 'image/png', data: 'iVBORw0KGgo...' },
          {
            type: 'document',
            attachmentId: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00',
            name: 'spec.pdf',
          },
        ],
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
  @ApiErrors(402, 413, 415, 503)
  @ApiErrorCases(400, 'The body is invalid, no provider serves the model, or no such experiment', {
    validation: {
      summary: 'An invalid body',
      value: { code: ErrorCode.ValidationFailed, message: 'query should not be empty' },
    },
    experiment: {
      summary: 'An experiment the configuration does not have',
      value: {
        code: ErrorCode.ExperimentNotFound,
        message: "No experiment 'sonnet-vs-opus' is configured",
      },
    },
  })
  @ApiErrorCases(404, 'The named provider, or an attachment of the key, does not exist', {
    provider: {
      summary: 'Unknown provider',
      value: {
        code: 'PROVIDER_NOT_FOUND',
        message: "Unknown provider 'gpt'; known: claude, opencode",
      },
    },
    attachment: {
      summary: "Unknown attachment (or another key's)",
      value: { code: 'ATTACHMENT_NOT_FOUND', message: "No attachment '0b7c1d0e-…'" },
    },
  })
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
    return this.sessions.create({ ...dto.toInput(), owner: principal.id, actor: principal });
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
      await writeSse(res, (options) =>
        this.sessions.stream(id, resumeFrom ?? query.after ?? 0, principal, options),
      );
      return undefined;
    }
    return {
      events: await this.sessions.events(id, query.after ?? 0, query.limit ?? 1000, principal),
    };
  }

  @Post(':id/input')
  @HttpCode(202)
  @ApiOperation({
    summary:
      'Send input: a new turn now when idle; while one runs, queued, interrupting, or steering',
    description:
      '`mode` says what happens while a turn runs: `queue` (the default) waits for it and for any ' +
      'input queued before; `interrupt` stops it (its result says interrupted) and runs this input ' +
      'next, ahead of the queue, in the same conversation; `steer` gives it to the agent mid-turn, ' +
      "only where the provider's `capabilities.steer` is true (GET /v1/providers), else 409 " +
      'STEER_UNSUPPORTED. When the session is idle, every mode starts a turn now.',
  })
  @ApiJsonBody(InputDto, {
    text: { summary: 'The next instruction, queued', value: { text: 'Now add a test for it' } },
    interrupt: {
      summary: 'Stop the running turn and run this instead',
      value: { text: 'Stop: use the other database', mode: 'interrupt' },
    },
    steer: {
      summary: 'Into the running turn (providers with capabilities.steer)',
      value: { text: 'Also cover the empty case', mode: 'steer' },
    },
    image: {
      summary: "An image too (the session's provider must take images: capabilities.multimodal)",
      value: {
        text: [
          { type: 'text', text: 'It looks like this now' },
          { type: 'image', attachmentId: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00' },
        ],
      },
    },
  })
  @ApiAcceptedResponse({
    description: 'Sent now when idle, or queued, interrupting or steering as `mode` says',
    type: OkDto,
    example: { ok: true },
  })
  @ApiErrors(402, 404, 413, 415)
  @ApiErrorCases(400, 'A bad field, or content the session cannot take', {
    validation: {
      summary: 'A bad field',
      value: {
        code: ErrorCode.ValidationFailed,
        message: 'mode must be one of queue, interrupt, steer; got "sideways"',
        details: { fields: ['mode'] },
      },
    },
    multimodal: {
      summary: 'Images for a provider that cannot take them',
      value: {
        code: ErrorCode.MultimodalUnsupported,
        message: "Provider 'gemini' cannot take images",
        details: { provider: 'gemini', capabilities: ['multimodal'] },
      },
    },
  })
  @ApiErrorCases(409, 'The session is not active, or it cannot be steered', {
    notActive: {
      summary: 'Not active',
      value: {
        code: ErrorCode.SessionNotActive,
        message: 'Session 6c8d5709-7e95-4529-a5f1-18ac3dddef69 is suspended; resume it first',
        details: { provider: 'claude', sessionId: '6c8d5709-7e95-4529-a5f1-18ac3dddef69' },
      },
    },
    steerUnsupported: {
      summary: 'mode steer on a provider without capabilities.steer',
      value: {
        code: ErrorCode.SteerUnsupported,
        message:
          "Provider 'claude' cannot take input mid-turn (capabilities.steer is false): send it " +
          'with mode queue or interrupt',
        details: { provider: 'claude', sessionId: '6c8d5709-7e95-4529-a5f1-18ac3dddef69' },
      },
    },
  })
  async input(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: InputDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.sessions.input(id, dto.text, principal, dto.mode);
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

  @Get(':id/permissions')
  @ApiOperation({
    summary: 'List the tool permission requests that wait for an answer',
    description:
      'Sessions created with permissions "ask": each tool call waits for a client\'s decision. The ' +
      'same requests come as permission_request events, and in the session:subscribe ack.',
  })
  @ApiOkResponse({ type: PendingPermissionsDto, example: PENDING_PERMISSIONS_EXAMPLE })
  @ApiErrors(400, 404)
  async permissions(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<{ requests: PendingPermission[] }> {
    return { requests: await this.sessions.pendingPermissions(id, principal) };
  }

  @Post(':id/permissions/:requestId')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Answer a tool permission request: allow or deny the tool call',
    description:
      "The agent runs the tool, or gets the denial (with `reason`) as the tool's error; a " +
      'permission_resolved event follows. Only a request that still waits can be answered.',
  })
  @ApiJsonBody(PermissionReplyDto, {
    allow: { summary: 'Run the tool', value: { allow: true } },
    deny: {
      summary: 'Refuse it, telling the agent why',
      value: { allow: false, reason: 'Do not delete the build directory' },
    },
  })
  @ApiOkResponse({ description: 'Passed on to the agent', type: OkDto, example: { ok: true } })
  @ApiErrors(400, 409)
  @ApiResponse({
    status: 404,
    description:
      "No such session (or another key's), or no such request waits: unknown, or settled already " +
      '(answered, timed out, withdrawn)',
    type: ErrorResponseDto,
    examples: {
      request: {
        summary: 'The request does not wait (any more)',
        value: {
          error: {
            code: ErrorCode.PermissionRequestNotFound,
            message:
              'No permission request 0b7d2f8e-3c41-4a55-9d0e-5f7a1c2b9e64 waits for an answer in session 6c8d5709-7e95-4529-a5f1-18ac3dddef69',
          },
        },
      },
      session: {
        summary: 'No such session',
        value: {
          error: {
            code: ErrorCode.SessionNotFound,
            message: 'Session 6c8d5709-7e95-4529-a5f1-18ac3dddef69 not found',
          },
        },
      },
    },
  })
  async replyPermission(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('requestId') requestId: string,
    @Body() dto: PermissionReplyDto,
    @CurrentPrincipal() principal: Principal,
  ) {
    if (!REQUEST_ID.test(requestId)) {
      throw new ValidationError('requestId must be a permission request id');
    }
    await this.sessions.replyPermission(
      id,
      requestId,
      { allow: dto.allow, ...(dto.reason ? { reason: dto.reason } : {}) },
      principal,
    );
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
