import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  EXPERIMENT_STICKINESS,
  type ExperimentArmReport,
  type ExperimentReport,
  type ExperimentStickiness,
} from '@jelmore/contracts';
import { UsageDto } from './responses.dto';

// Response shapes for the OpenAPI document only (see responses.dto.ts).

export const EXPERIMENT_EXAMPLE: ExperimentReport = {
  name: 'sonnet-vs-opus',
  sticky: 'owner',
  arms: [
    {
      name: 'sonnet',
      provider: 'claude',
      model: 'sonnet',
      weight: 80,
      sessions: 412,
      active: 3,
      turns: 1630,
      failures: 4,
      usage: { inputTokens: 9_120_400, outputTokens: 1_204_330, costUsd: 45.42 },
      medianTurnMs: 18_400,
    },
    {
      name: 'opus',
      provider: 'claude',
      model: 'opus',
      weight: 20,
      sessions: 98,
      active: 1,
      turns: 371,
      failures: 0,
      usage: { inputTokens: 2_310_020, outputTokens: 301_700, costUsd: 19.09 },
      medianTurnMs: 24_900,
    },
  ],
};

export class ExperimentArmReportDto implements ExperimentArmReport {
  @ApiProperty({ description: 'As in metrics labels (arm)' }) name!: string;
  @ApiPropertyOptional({ description: 'The provider its sessions run on' }) provider?: string;
  @ApiPropertyOptional({ description: 'The model its sessions run' }) model?: string;
  @ApiProperty({ description: 'Its share, relative to the other arms' }) weight!: number;
  @ApiProperty({ description: 'Sessions assigned to it' }) sessions!: number;
  @ApiProperty({ description: 'Of those, with a live agent now' }) active!: number;
  @ApiProperty({ description: 'Turns that ended (results)' }) turns!: number;
  @ApiProperty({ description: 'Sessions that ended failed' }) failures!: number;
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
  @ApiProperty({
    type: 'number',
    nullable: true,
    description:
      'Median duration of the turns that ran to their end, of those whose events are kept; null: none',
  })
  medianTurnMs!: number | null;
}

export class ExperimentReportDto implements ExperimentReport {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: EXPERIMENT_STICKINESS }) sticky!: ExperimentStickiness;
  @ApiProperty({ type: [ExperimentArmReportDto] }) arms!: ExperimentArmReportDto[];
}
