import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  Min,
} from 'class-validator';
import { parseSetting, type SettingsTable } from '@jelmore/contracts';
import {
  CLAUDE_PERMISSION_MODES,
  DEFAULT_CLAUDE_OPTIONS,
  DEFAULT_OPENCODE_OPTIONS,
} from '@jelmore/providers';

const httpUrl = () =>
  IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] });

/** The providers the server configures itself (codex and gemini read their own tables). */
export const PROVIDER_SETTINGS: SettingsTable = {
  'claude.enabled': {
    env: 'JELMORE_CLAUDE_ENABLED',
    file: 'providers.claude.enabled',
    parse: parseSetting.bool,
    default: DEFAULT_CLAUDE_OPTIONS.enabled,
    rules: [IsBoolean()],
    description: 'A disabled provider is unhealthy and refuses sessions (`PROVIDER_UNAVAILABLE`).',
  },
  'claude.bin': {
    env: 'JELMORE_CLAUDE_BIN',
    file: 'providers.claude.claude_bin',
    defaultText: '`node_modules/@anthropic-ai/claude-code/bin/claude.exe`',
    rules: [IsOptional(), IsString(), IsNotEmpty()],
    description: 'Claude Code binary to run.',
  },
  'claude.defaultModel': {
    env: 'JELMORE_CLAUDE_DEFAULT_MODEL',
    file: 'providers.claude.default_model',
    default: DEFAULT_CLAUDE_OPTIONS.defaultModel,
    rules: [IsString(), IsNotEmpty()],
    description: 'Model when a session names none: an id or an alias (`opus`, `sonnet`, `haiku`).',
  },
  'claude.maxConcurrentSessions': {
    env: 'JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS',
    file: 'providers.claude.max_concurrent_sessions',
    parse: parseSetting.int,
    default: DEFAULT_CLAUDE_OPTIONS.maxConcurrentSessions,
    rules: [IsInt(), Min(1)],
    description:
      'Live sessions at once; past it, creation fails with `PROVIDER_UNAVAILABLE` (503).',
  },
  'claude.permissionMode': {
    env: 'JELMORE_CLAUDE_PERMISSION_MODE',
    file: 'providers.claude.permission_mode',
    default: DEFAULT_CLAUDE_OPTIONS.permissionMode,
    rules: [IsIn(CLAUDE_PERMISSION_MODES)],
    description:
      "The CLI's `--permission-mode`: `acceptEdits`, `bypassPermissions`, `default` or `plan`.",
  },
  'claude.allowedTools': {
    env: 'JELMORE_CLAUDE_ALLOWED_TOOLS',
    file: 'providers.claude.allowed_tools',
    parse: parseSetting.list,
    default: DEFAULT_CLAUDE_OPTIONS.allowedTools,
    rules: [IsArray(), IsString({ each: true })],
    description:
      'Tools allowed without asking (`--allowedTools`): comma-separated in env, an array of strings in the file.',
  },
  'claude.warmPoolSize': {
    env: 'JELMORE_CLAUDE_WARM_POOL_SIZE',
    file: 'providers.claude.warm_pool_size',
    parse: parseSetting.int,
    default: DEFAULT_CLAUDE_OPTIONS.warmPoolSize,
    rules: [IsInt(), Min(0), Max(16)],
    description:
      'CLI processes kept started for new sessions of the default model and settings (0–16); each holds about 200 MiB while it waits. See [Warm start](providers/claude.md#agent-state-workspace-and-permissions).',
  },
  'opencode.enabled': {
    env: 'JELMORE_OPENCODE_ENABLED',
    file: 'providers.opencode.enabled',
    parse: parseSetting.bool,
    default: DEFAULT_OPENCODE_OPTIONS.enabled,
    rules: [IsBoolean()],
    description: 'A disabled provider is unhealthy and refuses sessions.',
  },
  'opencode.baseUrl': {
    env: 'JELMORE_OPENCODE_BASE_URL',
    file: 'providers.opencode.base_url',
    rules: [IsOptional(), httpUrl()],
    description:
      'The OpenAI-compatible endpoint serving the models (`.../v1`). Without it (or an API endpoint) the provider stays idle and unhealthy, and no opencode server is started.',
  },
  // Keys come from the environment only, never from a file that may be committed or shared.
  'opencode.apiKey': {
    env: 'JELMORE_OPENCODE_API_KEY',
    secret: true,
    rules: [IsOptional(), IsString()],
    description: 'The key for that endpoint. Never read from the file.',
  },
  'opencode.apiEndpoint': {
    env: 'JELMORE_OPENCODE_API_ENDPOINT',
    file: 'providers.opencode.api_endpoint',
    rules: [IsOptional(), httpUrl()],
    description:
      'An `opencode serve` that already runs (its models must include provider id `jelmore`); when unset Jelmore starts and supervises its own.',
  },
  'opencode.bin': {
    env: 'JELMORE_OPENCODE_BIN',
    file: 'providers.opencode.opencode_bin',
    defaultText: '`node_modules/opencode-ai/bin/opencode.exe`',
    rules: [IsOptional(), IsString(), IsNotEmpty()],
    description: 'opencode binary for the managed server.',
  },
  'opencode.defaultModel': {
    env: 'JELMORE_OPENCODE_DEFAULT_MODEL',
    file: 'providers.opencode.default_model',
    default: DEFAULT_OPENCODE_OPTIONS.defaultModel,
    rules: [IsString(), IsNotEmpty()],
    description:
      'Model when an opencode session names none: an id or an alias. With a model list in `providers.opencode.models`, the first of it unless named.',
  },
  'opencode.maxConcurrentSessions': {
    env: 'JELMORE_OPENCODE_MAX_CONCURRENT_SESSIONS',
    file: 'providers.opencode.max_concurrent_sessions',
    parse: parseSetting.int,
    default: DEFAULT_OPENCODE_OPTIONS.maxConcurrentSessions,
    rules: [IsInt(), Min(1)],
    description: 'Live opencode sessions at once.',
  },
  'opencode.models': {
    file: 'providers.opencode.models',
    custom: true,
    defaultText: 'the built-in models',
    // Checked by its own parser (opencode-models.config.ts): a list or an object.
    description:
      'A list of the endpoint\'s own models, replacing the built-in ones: `[{"id", "name", "aliases", "context_window", "max_output", "input_price_per_mtok", "output_price_per_mtok"}]` (prices 0 unless given). Or overrides keyed by built-in id.',
  },
  'scripted.enabled': {
    env: 'JELMORE_SCRIPTED_ENABLED',
    file: 'providers.scripted.enabled',
    parse: parseSetting.bool,
    default: false,
    rules: [IsBoolean()],
    description:
      'The `scripted` provider: agents with no model that replay the traffic their input asks for (`[[events N]]`, `[[bytes B]]`, `[[rate R]]` per second, 0 unthrottled; `[[tool]]`). For demos and load tests; never the default.',
  },
  'scripted.maxConcurrentSessions': {
    env: 'JELMORE_SCRIPTED_MAX_CONCURRENT_SESSIONS',
    file: 'providers.scripted.max_concurrent_sessions',
    parse: parseSetting.int,
    default: 2000,
    rules: [IsInt(), Min(1)],
    description: 'Live scripted sessions at once.',
  },
};
