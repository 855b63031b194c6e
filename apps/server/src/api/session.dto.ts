import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  INPUT_MODES,
  ISOLATIONS,
  PERMISSION_POLICIES,
  type InputMode,
  type Isolation,
  type PermissionPolicy,
  type TurnContent,
} from '@jelmore/contracts';
import { CAPABILITY_NAMES, CapabilityName, SessionRequirements } from '@jelmore/providers';
import type { CreateSessionInput } from '@jelmore/sessions';
import { IsTurnContent } from './turn-content';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsPositive,
  ValidateNested,
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

const NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;
/** Permission request ids are ours (UUIDs); anything of this shape that is not pending is a 404. */
/** A ref git may resolve: no option-like start, no whitespace. */
const GIT_REF = /^[^-\s]\S*$/;
export const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** `mode` of an input, over REST and WS alike. */
function InputModeField() {
  return applyDecorators(
    ApiPropertyOptional({
      enum: INPUT_MODES,
      default: 'queue',
      description:
        'While a turn runs: queue (wait for it), interrupt (stop it; this input runs next, the ' +
        "interrupted turn kept in the context) or steer (into the running turn, where the provider's " +
        'capabilities.steer says it can; else 409 STEER_UNSUPPORTED). Idle, every mode starts a turn',
    }),
    IsOptional(),
    IsIn(INPUT_MODES, {
      message: ({ value }) =>
        `mode must be one of ${INPUT_MODES.join(', ')}; got ${String(JSON.stringify(value)).slice(0, 64)}`,
    }),
  );
}

/** What a session needs from its provider, in the seed's snake_case. */
export class RequirementsDto {
  @ApiPropertyOptional({ enum: CAPABILITY_NAMES, isArray: true, example: ['streaming', 'tools'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(CAPABILITY_NAMES.length)
  @IsIn(CAPABILITY_NAMES, { each: true })
  capabilities?: CapabilityName[];

  @ApiPropertyOptional({ description: 'Same as the top-level model' })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  @Matches(NAME, { message: 'model must be a model id or alias' })
  model?: string;

  @ApiPropertyOptional({ example: 100000 })
  @IsOptional()
  @IsInt()
  @Min(1)
  min_context_tokens?: number;

  @ApiPropertyOptional({ description: 'Prefer the cheapest model that meets the requirements' })
  @IsOptional()
  @IsBoolean()
  cost_sensitive?: boolean;

  @ApiPropertyOptional({ description: 'Prefer the most capable model' })
  @IsOptional()
  @IsBoolean()
  premium_features?: boolean;

  toRequirements(): SessionRequirements {
    return {
      capabilities: this.capabilities,
      minContextTokens: this.min_context_tokens,
      costSensitive: this.cost_sensitive,
      premiumFeatures: this.premium_features,
    };
  }
}

export class CreateSessionDto {
  @IsTurnContent('Write a hello-world script in hello.py and run it')
  query!: TurnContent;

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

  @ApiPropertyOptional({ type: RequirementsDto, description: 'Used when no provider is named' })
  @IsOptional()
  @ValidateNested()
  @Type(() => RequirementsDto)
  requirements?: RequirementsDto;

  @ApiPropertyOptional({ example: 0.5, description: 'USD; the turn that reaches it stops' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  maxBudgetUsd?: number;

  @ApiPropertyOptional({
    enum: PERMISSION_POLICIES,
    description:
      "How tool calls are permitted: bypass (all run), ask (each waits for a client's decision), " +
      "deny-writes (reads run, the rest is denied); the provider's configured behaviour when absent",
  })
  @IsOptional()
  @IsIn(PERMISSION_POLICIES)
  permissions?: PermissionPolicy;

  @ApiPropertyOptional({
    enum: ISOLATIONS,
    description:
      'worktree: the session works in a git worktree of its own on the branch jelmore/<id> (the cwd ' +
      "must be in a git repository); none: in the cwd as it is. Default: the server's " +
      'JELMORE_DEFAULT_ISOLATION',
  })
  @IsOptional()
  @IsIn(ISOLATIONS)
  isolation?: Isolation;

  @ApiPropertyOptional({
    example: 'main',
    description:
      "With isolation worktree: the commit the branch starts at (default: the repository's HEAD)",
  })
  @IsOptional()
  @IsString()
  @Matches(GIT_REF, { message: 'baseRef must be a git ref or commit (no leading "-")' })
  @MaxLength(256)
  baseRef?: string;

  @ApiPropertyOptional({
    description:
      "Its agent gets Jelmore's MCP server (a token of this session's) to start sessions of its own, " +
      "as this session's children; default: the server's JELMORE_DELEGATION_DEFAULT",
  })
  @IsOptional()
  @IsBoolean()
  delegation?: boolean;

  @ApiPropertyOptional({
    example: 'sonnet-vs-opus',
    description:
      "Take part in this experiment of the server's configuration: its arm (by a hash of the key, or " +
      'of the session) names the provider and model, in place of those given here. Unknown: 400 ' +
      'EXPERIMENT_NOT_FOUND',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(NAME, { message: 'experiment must be an experiment name' })
  experiment?: string;

  @ApiPropertyOptional({
    description:
      'Replay a recorded identical turn on identical files instead of running the agent ' +
      "(docs/cache.md). Only with permissions 'deny-writes': else 400 CACHE_NEEDS_READ_ONLY",
  })
  @IsOptional()
  @IsBoolean()
  cache?: boolean;

  /** What the sessions service takes. */
  toInput(): CreateSessionInput {
    return {
      query: this.query,
      provider: this.provider,
      model: this.model ?? this.requirements?.model,
      cwd: this.cwd,
      requirements: this.requirements?.toRequirements(),
      maxBudgetUsd: this.maxBudgetUsd,
      permissions: this.permissions,
      isolation: this.isolation,
      baseRef: this.baseRef,
      delegation: this.delegation,
      experiment: this.experiment,
      cache: this.cache,
    };
  }
}

export class PermissionReplyDto {
  @ApiProperty({ example: true, description: 'Run the tool (true) or refuse it (false)' })
  @IsBoolean()
  allow!: boolean;

  @ApiPropertyOptional({
    example: 'Not in this repository',
    description: 'Why; a denial tells the agent this',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

export class InputDto {
  @IsTurnContent('Now add a test for it')
  text!: TurnContent;

  @InputModeField()
  mode?: InputMode;
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
  @ApiProperty({ format: 'uuid', description: 'The session it acts on' })
  @IsUUID()
  sessionId!: string;
}

export class SubscribeDto extends SessionRefDto {
  @ApiPropertyOptional({
    description: 'Replay the events with seq greater than this first (0, the default: all)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  after?: number;
}

export class WsInputDto extends SessionRefDto {
  @IsTurnContent('Now add a test for it')
  text!: TurnContent;

  @InputModeField()
  mode?: InputMode;
}

export class WsPermissionReplyDto extends SessionRefDto {
  @ApiProperty({ description: 'The requestId of the permission_request event' })
  @IsString()
  @Matches(REQUEST_ID, { message: 'requestId must be a permission request id' })
  requestId!: string;

  @ApiProperty({ description: 'Run the tool (true) or refuse it (false)' })
  @IsBoolean()
  allow!: boolean;

  @ApiPropertyOptional({ description: 'Why; a denial tells the agent this' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  reason?: string;
}

/** A turn of the session: 0 is its start. */
function TurnField(description: string, optional: boolean) {
  return applyDecorators(
    optional
      ? ApiPropertyOptional({ description, minimum: 0 })
      : ApiProperty({ description, minimum: 0 }),
    ...(optional ? [IsOptional()] : []),
    Type(() => Number),
    IsInt(),
    Min(0),
    Max(1_000_000),
  );
}

export class DiffQueryDto {
  @TurnField("From this turn's checkpoint (default: the session's first, its start)", true)
  from?: number;

  @TurnField("To this turn's checkpoint (default: the session's files now)", true)
  to?: number;

  @ApiPropertyOptional({
    enum: ['json', 'patch'],
    description: 'patch: the unified diff as text/x-diff (as with Accept: text/x-diff)',
  })
  @IsOptional()
  @IsIn(['json', 'patch'])
  format?: 'json' | 'patch';
}

export class ForkDto {
  @TurnField("The parent's turn to fork at (default: its last)", true)
  turn?: number;
}

export class RewindDto {
  @TurnField('The turn whose files (and conversation, where the provider can) come back', false)
  turn!: number;
}

export class WsForkDto extends SessionRefDto {
  @TurnField("The parent's turn to fork at (default: its last)", true)
  turn?: number;
}

export class WsRewindDto extends SessionRefDto {
  @TurnField('The turn whose files (and conversation, where the provider can) come back', false)
  turn!: number;
}
