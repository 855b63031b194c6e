import { Controller, Get, Param } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ErrorCode, type ExperimentReport } from '@jelmore/contracts';
import { ExperimentReports } from '@jelmore/sessions';
import { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { ApiError, ApiKeyProtected } from './api-docs.decorator';
import { EXPERIMENT_EXAMPLE, ExperimentReportDto } from './experiment-report.dto';

@ApiTags('experiments')
@ApiKeyProtected()
@Controller('v1/experiments')
export class ExperimentsController {
  constructor(private readonly reports: ExperimentReports) {}

  @Get(':name')
  @ApiOperation({
    summary: "An A/B experiment's figures per arm",
    description:
      "Sessions, turns, failures, tokens, cost and median turn duration of each arm: of the caller's " +
      "own sessions; an admin key's: of every key's.",
  })
  @ApiParam({
    name: 'name',
    description: 'As configured under experiments',
    example: 'sonnet-vs-opus',
  })
  @ApiOkResponse({ type: ExperimentReportDto, example: EXPERIMENT_EXAMPLE })
  @ApiError(
    404,
    { code: ErrorCode.NotFound, message: "No experiment 'sonnet-vs-opus' is configured" },
    'No experiment of this name is configured',
  )
  report(
    @Param('name') name: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ExperimentReport> {
    return this.reports.report(name, principal);
  }
}
