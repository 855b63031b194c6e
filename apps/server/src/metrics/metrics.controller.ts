import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { ApiErrors, ApiKeyProtected } from '../api/api-docs.decorator';
import { PROMETHEUS_EXAMPLE } from '../api/responses.dto';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { PrometheusService } from './prometheus.service';

@ApiTags('metrics')
@ApiKeyProtected()
@Controller('metrics')
export class PrometheusController {
  constructor(private readonly prometheus: PrometheusService) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "Prometheus scrape (an admin key: it counts every key's sessions)" })
  @ApiOkResponse({
    description: 'Prometheus text exposition; every name starts with jelmore_',
    content: { 'text/plain': { schema: { type: 'string' }, example: PROMETHEUS_EXAMPLE } },
  })
  @ApiErrors(403)
  async scrape(@Res() res: Response, @CurrentPrincipal() principal: Principal): Promise<void> {
    if (!principal.admin) {
      throw new JelmoreError(ErrorCode.Forbidden, 'The Prometheus metrics need an admin key');
    }
    res.type(this.prometheus.contentType).send(await this.prometheus.metrics());
  }
}
