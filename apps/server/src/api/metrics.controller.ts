import { Controller, Get } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SessionMetrics, SessionsService } from '@jelmore/sessions';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { ApiKeyProtected } from './api-docs.decorator';
import { METRICS_EXAMPLE, ProviderSessionMetricsDto, SessionMetricsDto } from './responses.dto';

@ApiTags('metrics')
@ApiKeyProtected()
// SessionMetricsDto's `providers` map refers to it by $ref only; a base class is not registered on its own.
@ApiExtraModels(ProviderSessionMetricsDto)
@Controller('v1/metrics')
export class MetricsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOperation({
    summary: 'Session counts, tokens and cost, in all and per provider',
    description: "Of the caller's own sessions; an admin key's: of every key's.",
  })
  @ApiOkResponse({
    description: 'total_sessions, active_sessions, usage and cost, in all and per provider',
    type: SessionMetricsDto,
    example: METRICS_EXAMPLE,
  })
  metrics(@CurrentPrincipal() principal: Principal): Promise<SessionMetrics> {
    return this.sessions.metrics(principal);
  }
}
