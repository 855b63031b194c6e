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
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import { CreateSessionDto, EventsQueryDto, InputDto } from './session.dto';
import { writeSse } from './sse';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';

@ApiTags('sessions')
@ApiBearerAuth()
@Controller('v1/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  @Post()
  @ApiCreatedResponse({ description: 'The session, already starting its first turn' })
  create(
    @Body() dto: CreateSessionDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.create({ ...dto.toInput(), owner: principal.id });
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal): Promise<SessionResource[]> {
    return this.sessions.list(principal);
  }

  @Get(':id')
  get(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.get(id, principal);
  }

  /** JSON by default; with `Accept: text/event-stream`, replay then live as SSE (`id:` is the seq). */
  @Get(':id/events')
  @ApiOkResponse({ description: 'Events after `after`, in seq order' })
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
  @ApiAcceptedResponse({ description: 'Sent now when idle, or queued for the next turn' })
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
  async interrupt(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    await this.sessions.interrupt(id, principal);
    return { ok: true };
  }

  @Post(':id/suspend')
  @HttpCode(200)
  suspend(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.suspend(id, undefined, principal);
  }

  @Post(':id/resume')
  @HttpCode(200)
  resume(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.resume(id, principal);
  }

  @Delete(':id')
  terminate(
    @Param('id', ParseUUIDPipe) id: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<SessionResource> {
    return this.sessions.terminate(id, undefined, principal);
  }
}
