import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { SessionMetrics, SessionsService } from '@jelmore/sessions';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('v1/metrics')
export class MetricsController {
  constructor(private readonly sessions: SessionsService) {}

  @Get()
  @ApiOkResponse({
    description: 'total_sessions, active_sessions, usage and cost, in all and per provider',
  })
  metrics(): Promise<SessionMetrics> {
    return this.sessions.metrics();
  }
}
