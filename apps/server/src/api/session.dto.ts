import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

export const MAX_QUERY_LENGTH = 100_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export class CreateSessionDto {
  @ApiProperty({ example: 'Write a hello-world script in hello.py and run it' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  query!: string;

  @ApiPropertyOptional({ example: 'claude' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(NAME, { message: 'provider must be a provider name' })
  provider?: string;

  @ApiPropertyOptional({ example: 'sonnet', description: 'A model id or alias' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(NAME, { message: 'model must be a model id or alias' })
  model?: string;

  @ApiPropertyOptional({ description: 'Working directory inside the workspace root' })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(4096)
  cwd?: string;
}

export class InputDto {
  @ApiProperty({ example: 'Now add a test for it' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  text!: string;
}

export class EventsQueryDto {
  @ApiPropertyOptional({ description: 'Return events with seq greater than this', default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after?: number;

  @ApiPropertyOptional({ default: 1000, maximum: 10_000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit?: number;
}

/** WS payloads name the session they act on. */
export class SessionRefDto {
  @IsUUID()
  sessionId!: string;
}

export class SubscribeDto extends SessionRefDto {
  @IsOptional()
  @IsInt()
  @Min(0)
  after?: number;
}

export class WsInputDto extends SessionRefDto {
  @IsString()
  @IsNotEmpty()
  @MaxLength(MAX_QUERY_LENGTH)
  text!: string;
}
