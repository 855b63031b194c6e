import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyProtected } from '../api/api-docs.decorator';
import { PROMETHEUS_EXAMPLE } from '../api/responses.dto';
import { PrometheusService } from './prometheus.service';

@ApiTags('metrics')
@ApiKeyProtected()
@Controller('metrics')
export class PrometheusController {
  constructor(private readonly prometheus: PrometheusService) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Prometheus scrape' })
  @ApiOkResponse({
    description: 'Prometheus text exposition; every name starts with jelmore_',
    content: { 'text/plain': { schema: { type: 'string' }, example: PROMETHEUS_EXAMPLE } },
  })
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.prometheus.contentType).send(await this.prometheus.metrics());
  }
}
