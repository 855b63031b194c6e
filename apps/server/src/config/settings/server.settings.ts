import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { ISOLATIONS, parseSetting, type SettingsTable } from '@jelmore/contracts';
import { AgentProvider, DEFAULT_CIRCUIT_OPTIONS, providerFolderClasses } from '@jelmore/providers';
import { DEFAULT_SESSIONS_OPTIONS } from '@jelmore/sessions';
import { MAX_BLOCKS } from '../../api/turn-content';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The names of the providers found by folder (see providerFolderClasses). */
const PROVIDER_NAMES = providerFolderClasses().map(
  (cls) => Reflect.getMetadata(AgentProvider.KEY, cls) as string,
);

/** The server itself: where it listens and keeps its state, sessions' lifetimes, provider choice. */
export const SERVER_SETTINGS: SettingsTable = {
  configFile: {
    env: 'JELMORE_CONFIG',
    custom: true,
    description: 'Path of the JSON configuration file.',
  },
  port: {
    env: 'JELMORE_PORT',
    file: 'port',
    parse: parseSetting.int,
    default: 3000,
    rules: [IsInt(), Min(0), Max(65535)],
    description: 'HTTP and Socket.IO port (0–65535).',
  },
  host: {
    env: 'JELMORE_HOST',
    file: 'host',
    // Loopback until API keys exist: nothing else should reach an unauthenticated agent runner.
    default: '127.0.0.1',
    rules: [IsString(), IsNotEmpty()],
    description:
      'Address to listen on. Without `JELMORE_API_KEYS` the server binds 127.0.0.1 whatever this says.',
  },
  dataDir: {
    env: 'JELMORE_DATA_DIR',
    file: 'data_dir',
    default: './data',
    rules: [IsString(), IsNotEmpty()],
    description:
      "Server state: the SQLite file and the agents' homes (`<data_dir>/agents/claude`).",
  },
  databaseUrl: {
    env: 'JELMORE_DATABASE_URL',
    file: 'database_url',
    default: (values: Record<string, unknown>) => `sqlite:${String(values.dataDir)}/jelmore.db`,
    defaultText: '`sqlite:<data_dir>/jelmore.db`',
    rules: [
      Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)/, {
        message:
          '$property must look like sqlite:<path> or postgres://[user[:password]@]host[:port]/database',
      }),
    ],
    description:
      'Session store: `sqlite:<path>` (or `sqlite::memory:`), or PostgreSQL as `postgres://user:password@host:5432/db` (or `postgresql://`); see [Storage](cluster.md#storage).',
  },
  workspaceRoot: {
    env: 'JELMORE_WORKSPACE_ROOT',
    file: 'workspace_root',
    default: './workspace',
    rules: [IsString(), IsNotEmpty()],
    description: "Root of the sessions' working directories.",
  },
  defaultIsolation: {
    env: 'JELMORE_DEFAULT_ISOLATION',
    file: 'default_isolation',
    default: DEFAULT_SESSIONS_OPTIONS.defaultIsolation,
    rules: [IsIn(ISOLATIONS)],
    description:
      '`none` or `worktree`: the isolation of sessions created without one. `worktree` gives each a git worktree of its own (its cwd must then be in a git repository); see [Fork, checkpoints and worktrees](api.md#fork-checkpoints-and-worktrees).',
  },
  sharedWorkspace: {
    env: 'JELMORE_SHARED_WORKSPACE',
    file: 'shared_workspace',
    rules: [IsOptional(), IsString(), IsNotEmpty()],
    description:
      "A folder inside the workspace root (relative to it) that every key's sessions may use as `cwd`, with all below it; other keys' folders stay theirs: see [Workspace](providers/claude.md#agent-state-workspace-and-permissions).",
  },
  logLevel: {
    env: 'JELMORE_LOG_LEVEL',
    file: 'log_level',
    default: 'info',
    rules: [IsIn(LOG_LEVELS)],
    description:
      'JSON logs (pino): `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`.',
  },
  sessionTtlSeconds: {
    env: 'JELMORE_SESSION_TTL_SECONDS',
    file: 'session_ttl_seconds',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.sessionTtlSeconds,
    rules: [IsInt(), Min(1)],
    description:
      'Idle, suspended or interrupted sessions untouched this long are terminated (checked every minute).',
  },
  eventRetentionSeconds: {
    env: 'JELMORE_EVENT_RETENTION_SECONDS',
    file: 'event_retention_seconds',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.eventRetentionSeconds,
    defaultText: `\`${DEFAULT_SESSIONS_OPTIONS.eventRetentionSeconds}\` (${DEFAULT_SESSIONS_OPTIONS.eventRetentionSeconds / 86400} days)`,
    rules: [IsInt(), Min(1)],
    description:
      'The cleanup job deletes the events of sessions that ended (terminated, failed) longer ago; the session stays listed with its usage.',
  },
  maxAttachmentBytes: {
    env: 'JELMORE_MAX_ATTACHMENT_BYTES',
    file: 'max_attachment_bytes',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.maxAttachmentBytes,
    defaultText: '`10485760` (10 MiB)',
    rules: [IsInt(), Min(1)],
    description:
      'Largest image or document a turn or `POST /v1/attachments` takes (bytes; larger: 413 ATTACHMENT_TOO_LARGE).',
  },
  maxTurnAttachmentBytes: {
    env: 'JELMORE_MAX_TURN_ATTACHMENT_BYTES',
    file: 'max_turn_attachment_bytes',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.maxTurnAttachmentBytes,
    defaultText: '`20971520` (20 MiB)',
    rules: [IsInt(), Min(1)],
    description:
      "Largest sum of one query's or input's images and documents (bytes); REST bodies and WS messages may be this large in base64.",
  },
  maxContentBlocks: {
    env: 'JELMORE_MAX_CONTENT_BLOCKS',
    file: 'max_content_blocks',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.maxContentBlocks,
    rules: [IsInt(), Min(1), Max(MAX_BLOCKS)],
    description: `Most blocks (text, image, document) in one query or input (1–${MAX_BLOCKS}).`,
  },
  permissionTimeoutSeconds: {
    env: 'JELMORE_PERMISSION_TIMEOUT_SECONDS',
    file: 'permission_timeout_seconds',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.permissionTimeoutSeconds,
    rules: [IsInt(), Min(1)],
    description:
      'A tool permission request of an `ask` session that nobody answers this long is denied (see [Tool permissions](providers/claude.md#tool-permissions)).',
  },
  defaultProvider: {
    env: 'JELMORE_DEFAULT_PROVIDER',
    file: 'default_provider',
    default: 'claude',
    rules: [IsIn(PROVIDER_NAMES)],
    description: `Provider for a session that names neither provider nor model: ${PROVIDER_NAMES.map((n) => `\`${n}\``).join(', ')}.`,
  },
  delegationDefault: {
    env: 'JELMORE_DELEGATION_DEFAULT',
    file: 'delegation_default',
    parse: parseSetting.bool,
    default: DEFAULT_SESSIONS_OPTIONS.delegationDefault,
    rules: [IsBoolean()],
    description:
      "Whether sessions created without `delegation` get Jelmore's MCP server in their agent, to start sessions of their own; see [MCP](mcp.md#delegation).",
  },
  delegationMaxDepth: {
    env: 'JELMORE_DELEGATION_MAX_DEPTH',
    file: 'delegation_max_depth',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.delegationMaxDepth,
    rules: [IsInt(), Min(1), Max(10)],
    description:
      'How deep delegations go: a session started by a session a client started is depth 1.',
  },
  delegationMaxChildren: {
    env: 'JELMORE_DELEGATION_MAX_CHILDREN',
    file: 'delegation_max_children',
    parse: parseSetting.int,
    default: DEFAULT_SESSIONS_OPTIONS.delegationMaxChildren,
    rules: [IsInt(), Min(1), Max(100)],
    description: "How many sessions one session's agent may start.",
  },
  loadBalancing: {
    env: 'JELMORE_LOAD_BALANCING',
    file: 'load_balancing',
    parse: parseSetting.bool,
    default: false,
    rules: [IsBoolean()],
    description: 'Prefer the least loaded provider (see [Choosing a provider](selection.md)).',
  },
  costOptimization: {
    env: 'JELMORE_COST_OPTIMIZATION',
    file: 'cost_optimization',
    parse: parseSetting.bool,
    default: false,
    rules: [IsBoolean()],
    description: "Prefer the cheapest model that meets a session's requirements.",
  },
  circuitFailureThreshold: {
    env: 'JELMORE_CIRCUIT_FAILURE_THRESHOLD',
    file: 'circuit_failure_threshold',
    parse: parseSetting.int,
    default: DEFAULT_CIRCUIT_OPTIONS.failureThreshold,
    rules: [IsInt(), Min(1)],
    description: "Consecutive failures that open a provider's circuit.",
  },
  circuitCooldownSeconds: {
    env: 'JELMORE_CIRCUIT_COOLDOWN_SECONDS',
    file: 'circuit_cooldown_seconds',
    parse: parseSetting.int,
    default: DEFAULT_CIRCUIT_OPTIONS.cooldownMs / 1000,
    rules: [IsInt(), Min(0)],
    description: 'How long an open circuit refuses before one trial.',
  },
};
