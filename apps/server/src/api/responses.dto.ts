import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import {
  ErrorCode,
  ISOLATIONS,
  type ExperimentAssignment,
  PERMISSION_POLICIES,
  SESSION_STATES,
  type ErrorBody,
  type Isolation,
  type WorktreeInfo,
  type ModelInfo,
  type PendingPermission,
  type PermissionPolicy,
  type ProviderCapabilities,
  type SessionResource,
  type SessionRouting,
  type SessionState,
  type Usage,
} from '@jelmore/contracts';
import { CLAUDE_MODELS, DEFAULT_CLAUDE_OPTIONS, claudeCapabilities } from '@jelmore/providers';

// Response shapes for the OpenAPI document only: the handlers return the contracts' types, which these
// implement, so a field added there and not here fails to compile.

// Providers and models come from the real tables, so that the examples cannot drift from the answers.
const EXAMPLE_MODEL = CLAUDE_MODELS.find((m) => m.aliases.includes('sonnet')) ?? CLAUDE_MODELS[0];

const SESSION_ID = '6c8d5709-7e95-4529-a5f1-18ac3dddef69';

export const USAGE_EXAMPLE: Usage = { inputTokens: 1200, outputTokens: 340, costUsd: 0.0087 };

export const SESSION_EXAMPLE: SessionResource = {
  id: SESSION_ID,
  provider: 'claude',
  model: EXAMPLE_MODEL.id,
  title: 'Write a hello-world script in hello.py and run it',
  state: 'running',
  cwd: `/srv/jelmore/workspace/${SESSION_ID}`,
  createdAt: '2026-01-15T09:30:00.000Z',
  updatedAt: '2026-01-15T09:30:00.412Z',
  usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
  lastSeq: 3,
  isolation: 'none',
};

export const EVENTS_EXAMPLE = {
  events: [
    {
      sessionId: SESSION_ID,
      seq: 1,
      ts: '2026-01-15T09:30:00.001Z',
      type: 'status',
      from: null,
      to: 'starting',
    },
    {
      sessionId: SESSION_ID,
      seq: 4,
      ts: '2026-01-15T09:30:01.250Z',
      type: 'assistant',
      text: 'I will create hello.py',
    },
    {
      sessionId: SESSION_ID,
      seq: 5,
      ts: '2026-01-15T09:30:01.300Z',
      type: 'tool_use',
      id: 'toolu_01',
      name: 'Write',
      input: { file_path: 'hello.py', content: 'print("hello")\n' },
    },
    {
      sessionId: SESSION_ID,
      seq: 9,
      ts: '2026-01-15T09:30:04.020Z',
      type: 'result',
      text: 'Created hello.py and ran it: it prints hello.',
      durationMs: 3900,
      usage: USAGE_EXAMPLE,
    },
  ],
};

export const SSE_EXAMPLE =
  `id: 1\nevent: status\ndata: {"sessionId":"${SESSION_ID}","seq":1,"ts":"2026-01-15T09:30:00.001Z","type":"status","from":null,"to":"starting"}\n\n` +
  `id: 4\nevent: assistant\ndata: {"sessionId":"${SESSION_ID}","seq":4,"ts":"2026-01-15T09:30:01.250Z","type":"assistant","text":"I will create hello.py"}\n\n`;

const HEALTHY = {
  healthy: true,
  version: '2.1.332 (Claude Code)',
  checkedAt: '2026-01-15T09:29:45.000Z',
  circuit: 'closed',
};

export const PROVIDER_HEALTH_EXAMPLE = {
  claude: HEALTHY,
  opencode: {
    healthy: false,
    reason: 'no model endpoint: set JELMORE_OPENCODE_BASE_URL (or JELMORE_OPENCODE_API_ENDPOINT)',
    checkedAt: '2026-01-15T09:29:45.000Z',
    circuit: 'closed',
  },
};

export const PROVIDERS_EXAMPLE = {
  defaultProvider: 'claude',
  providers: [
    {
      name: 'claude',
      capabilities: claudeCapabilities(DEFAULT_CLAUDE_OPTIONS.maxConcurrentSessions),
      models: CLAUDE_MODELS,
      health: HEALTHY,
      load: { active: 1, max: DEFAULT_CLAUDE_OPTIONS.maxConcurrentSessions },
    },
  ],
};

export const METRICS_EXAMPLE = {
  total_sessions: 12,
  active_sessions: 2,
  usage: USAGE_EXAMPLE,
  providers: {
    claude: { total_sessions: 12, active_sessions: 2, usage: USAGE_EXAMPLE },
  },
};

export const PROMETHEUS_EXAMPLE =
  '# HELP jelmore_sessions_created_total Sessions started, by provider\n' +
  '# TYPE jelmore_sessions_created_total counter\n' +
  'jelmore_sessions_created_total{provider="claude"} 12\n';

export class UsageDto implements Usage {
  @ApiProperty({ example: 1200 }) inputTokens!: number;
  @ApiProperty({ example: 340 }) outputTokens!: number;
  @ApiProperty({ example: 0.0087, description: 'USD' }) costUsd!: number;
}

export class WorktreeInfoDto implements WorktreeInfo {
  @ApiProperty({ description: 'The repository it was made from' }) repository!: string;
  @ApiProperty({ example: `jelmore/${SESSION_ID}` }) branch!: string;
  @ApiProperty({ description: 'The commit the branch started at' }) base!: string;
}

export class ForkedFromDto {
  @ApiProperty({ format: 'uuid' }) sessionId!: string;
  @ApiProperty({ example: 1 }) turn!: number;
}

export class WorktreeRemovedDto {
  @ApiProperty() branch!: string;
  @ApiProperty() branchKept!: boolean;
}

export class SessionRoutingDto implements SessionRouting {
  @ApiProperty({
    example: 'complex',
    description: 'The tier routing by complexity chose; default: the classifier failed',
  })
  tier!: string;
  @ApiPropertyOptional({
    example: 6,
    description: "The scorer's points, or the classifier's score",
  })
  score?: number;
  @ApiPropertyOptional({ example: 'many files (+2), refactor, migrate (+4)' }) reason?: string;
}

export class ExperimentAssignmentDto implements ExperimentAssignment {
  @ApiProperty({ example: 'sonnet-vs-opus' }) name!: string;
  @ApiProperty({ example: 'opus' }) arm!: string;
}

export class SessionResourceDto implements SessionResource {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'claude' }) provider!: string;
  @ApiProperty({ example: EXAMPLE_MODEL.id }) model!: string;
  @ApiPropertyOptional({
    description: "The first query's first line of text, shortened",
    example: SESSION_EXAMPLE.title,
  })
  title?: string;
  @ApiProperty({ enum: SESSION_STATES }) state!: SessionState;
  @ApiProperty({ description: 'Absolute, inside the workspace root' }) cwd!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
  @ApiProperty({ description: 'The seq of its last committed event' }) lastSeq!: number;
  @ApiPropertyOptional({
    enum: PERMISSION_POLICIES,
    description: "Its permission policy; absent: the provider's configured behaviour",
  })
  permissions?: PermissionPolicy;
  @ApiProperty({
    enum: ISOLATIONS,
    description: 'worktree: it works in a git worktree of its own (see worktree)',
  })
  isolation!: Isolation;
  @ApiPropertyOptional({ type: WorktreeInfoDto }) worktree?: WorktreeInfoDto;
  @ApiPropertyOptional({ format: 'uuid', description: 'The session it was forked from' })
  parentId?: string;
  @ApiPropertyOptional({ type: ForkedFromDto }) forkedFrom?: ForkedFromDto;
  @ApiPropertyOptional({
    type: WorktreeRemovedDto,
    description:
      'Once it ended: its worktree was removed; the branch stays if the agent committed to it',
  })
  worktreeRemoved?: WorktreeRemovedDto;
  @ApiPropertyOptional({
    type: SessionRoutingDto,
    description: 'How routing by complexity chose its model, when it did',
  })
  routing?: SessionRoutingDto;
  @ApiPropertyOptional({
    type: ExperimentAssignmentDto,
    description: 'The A/B experiment it takes part in, and its arm',
  })
  experiment?: ExperimentAssignmentDto;
}

export const PENDING_PERMISSIONS_EXAMPLE = {
  requests: [
    {
      requestId: '0b7d2f8e-3c41-4a55-9d0e-5f7a1c2b9e64',
      tool: 'Bash',
      input: { command: 'rm -rf build', description: 'Clean the build directory' },
      toolUseId: 'toolu_01',
      createdAt: '2026-01-15T09:30:02.100Z',
      expiresAt: '2026-01-15T09:35:02.100Z',
    },
  ] satisfies PendingPermission[],
};

export class PendingPermissionDto implements PendingPermission {
  @ApiProperty({ description: 'Answer it with POST .../permissions/{requestId}' })
  requestId!: string;
  @ApiProperty({ example: 'Bash' }) tool!: string;
  @ApiProperty({ type: 'object', additionalProperties: true, description: "The tool's input" })
  input!: unknown;
  @ApiPropertyOptional({ description: 'The tool_use event it is about' }) toolUseId?: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiPropertyOptional({
    format: 'date-time',
    description: 'When it is denied unanswered; absent while the session is not running',
  })
  expiresAt?: string;
}

export class PendingPermissionsDto {
  @ApiProperty({ type: [PendingPermissionDto] }) requests!: PendingPermissionDto[];
}

export class EventsPageDto {
  @ApiProperty({
    type: 'array',
    items: { type: 'object' },
    description: 'SessionEvents in seq order: sessionId, seq, ts, type and the fields of the type',
  })
  events!: object[];
}

export class OkDto {
  @ApiProperty({ enum: [true] }) ok!: true;
}

export class ProviderHealthDto {
  @ApiProperty() healthy!: boolean;
  @ApiPropertyOptional({ description: 'Why it is unhealthy' }) reason?: string;
  @ApiPropertyOptional() version?: string;
  @ApiProperty({ format: 'date-time' }) checkedAt!: string;
  @ApiProperty({ enum: ['closed', 'open', 'half-open'] }) circuit!: string;
}

export class ModelInfoDto implements ModelInfo {
  @ApiProperty() id!: string;
  @ApiProperty({ type: [String] }) aliases!: string[];
  @ApiProperty() provider!: string;
  @ApiProperty() contextWindow!: number;
  @ApiProperty({ description: 'USD per million input tokens' }) inputPricePerMTok!: number;
  @ApiProperty({ description: 'USD per million output tokens' }) outputPricePerMTok!: number;
}

export class ProviderLoadDto {
  @ApiProperty() active!: number;
  @ApiProperty() max!: number;
}

export class ProviderInfoDto {
  @ApiProperty() name!: string;
  @ApiProperty({ type: 'object', additionalProperties: true }) capabilities!: ProviderCapabilities;
  @ApiProperty({ type: [ModelInfoDto] }) models!: ModelInfoDto[];
  @ApiProperty({ type: ProviderHealthDto }) health!: ProviderHealthDto;
  @ApiProperty({ type: ProviderLoadDto }) load!: ProviderLoadDto;
}

export class ProvidersDto {
  @ApiProperty() defaultProvider!: string;
  @ApiProperty({ type: [ProviderInfoDto] }) providers!: ProviderInfoDto[];
}

export class ProviderSessionMetricsDto {
  @ApiProperty() total_sessions!: number;
  @ApiProperty() active_sessions!: number;
  @ApiProperty({ type: UsageDto }) usage!: UsageDto;
}

export class SessionMetricsDto extends ProviderSessionMetricsDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: getSchemaPath(ProviderSessionMetricsDto) },
    description: 'The same figures per provider',
  })
  providers!: Record<string, ProviderSessionMetricsDto>;
}

export class ErrorBodyDto implements ErrorBody {
  @ApiProperty({ enum: ErrorCode, description: 'Stable: clients switch on it' }) code!: ErrorCode;
  @ApiProperty({ description: 'Safe to show; never a stack or a secret' }) message!: string;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true }) details?: Record<
    string,
    unknown
  >;
  @ApiPropertyOptional({ description: 'With RATE_LIMITED: seconds until a retry may succeed' })
  retryAfter?: number;
}

export class ErrorResponseDto {
  @ApiProperty({ type: ErrorBodyDto }) error!: ErrorBodyDto;
}
