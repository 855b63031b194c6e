import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { PrometheusService } from './prometheus.service';

@ApiTags('metrics')
@ApiBearerAuth()
@Controller('metrics')
export class PrometheusController {
  constructor(private readonly prometheus: PrometheusService) {}

  @Get()
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ description: 'Prometheus text exposition; every name starts with jelmore_' })
  async scrape(@Res() res: Response): Promise<void> {
    res.type(this.prometheus.contentType).send(await this.prometheus.metrics());
  }
}
