// class-transformer's @Type reads decorator metadata when the classes below are defined.
import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsObject,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  ValidateNested,
  validateSync,
  ValidationError as ClassValidationError,
} from 'class-validator';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import {
  CLAUDE_PERMISSION_MODES,
  ClaudePermissionMode,
  DEFAULT_CIRCUIT_OPTIONS,
  DEFAULT_CLAUDE_OPTIONS,
  DEFAULT_OPENCODE_OPTIONS,
  OpencodeModelOverride,
  AgentProvider,
  providerFolderClasses,
  opencodeModels,
  resolveClaudeModel,
} from '@jelmore/providers';
import { DEFAULT_SESSIONS_OPTIONS } from '@jelmore/sessions';
import { parseTrustProxy } from '../common/client-address';
import { DEFAULT_NATS_MAX_PENDING, DEFAULT_NATS_STREAM } from '../nats/nats.constants';

/** The names of the providers found by folder (see providerFolderClasses). */
const PROVIDER_NAMES = providerFolderClasses().map(
  (cls) => Reflect.getMetadata(AgentProvider.KEY, cls) as string,
);

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const NATS_URL =
  /^nats:\/\/([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5])$/;

export class ClaudeConfig {
  @IsBoolean() enabled!: boolean;
  @IsOptional() @IsString() @IsNotEmpty() bin?: string;
  @IsString() @IsNotEmpty() defaultModel!: string;
  @IsInt() @Min(1) maxConcurrentSessions!: number;
  @IsIn(CLAUDE_PERMISSION_MODES) permissionMode!: ClaudePermissionMode;
  @IsArray() @IsString({ each: true }) allowedTools!: string[];
  @IsInt() @Min(0) @Max(16) warmPoolSize!: number;
}

export class OpencodeConfig {
  @IsBoolean() enabled!: boolean;
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  apiEndpoint?: string;
  @IsOptional() @IsString() @IsNotEmpty() bin?: string;
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  baseUrl?: string;
  @IsOptional() @IsString() apiKey?: string;
  @IsString() @IsNotEmpty() defaultModel!: string;
  @IsInt() @Min(1) maxConcurrentSessions!: number;
  @IsObject() models!: Record<string, OpencodeModelOverride>;
}

export class ScriptedConfig {
  @IsBoolean() enabled!: boolean;
  @IsInt() @Min(1) maxConcurrentSessions!: number;
}

/** An API key as the server keeps it: its SHA-256, never the key itself. */
export interface ApiKey {
  id: string;
  /** SHA-256 of the key, hex. */
  digest: string;
  admin: boolean;
}

/** The server's whole configuration, validated once at boot. */
export class JelmoreConfig {
  @IsInt() @Min(0) @Max(65535) port!: number;
  @IsString() @IsNotEmpty() host!: string;
  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)/, {
    message:
      '$property must look like sqlite:<path> or postgres://[user[:password]@]host[:port]/database',
  })
  databaseUrl!: string;
  @IsString() @IsNotEmpty() dataDir!: string;
  @IsString() @IsNotEmpty() workspaceRoot!: string;
  /** A folder in the workspace root every key's sessions may work in (absolute once loaded); unset: none. */
  @IsOptional() @IsString() @IsNotEmpty() sharedWorkspace?: string;
  @IsIn(LOG_LEVELS) logLevel!: (typeof LOG_LEVELS)[number];
  @IsInt() @Min(1) sessionTtlSeconds!: number;
  @IsInt() @Min(1) eventRetentionSeconds!: number;
  /** A tool permission request nobody answers this long is denied. */
  @IsInt() @Min(1) permissionTimeoutSeconds!: number;
  /** Any provider found in libs/providers (one folder each). */
  @IsIn(PROVIDER_NAMES) defaultProvider!: string;
  @IsBoolean() loadBalancing!: boolean;
  @IsBoolean() costOptimization!: boolean;
  @IsInt() @Min(1) circuitFailureThreshold!: number;
  @IsInt() @Min(0) circuitCooldownSeconds!: number;
  /**
   * From JELMORE_API_KEYS and JELMORE_API_KEYS_FILE (`id:key[:admin]`, comma- or line-separated), as
   * digests; empty: no auth, loopback only.
   */
  @IsArray() apiKeys!: ApiKey[];
  /** `bwrap`: each agent process in a bubblewrap sandbox (agents refuse to start without a working one). */
  @IsIn(['bwrap', 'off']) agentSandbox!: 'bwrap' | 'off';
  /** What network a sandboxed agent has: the host's (its model API), or none. */
  @IsIn(['host', 'none']) agentNetwork!: 'host' | 'none';
  /** Files no agent may see: the config and key files, the SQLite database (absolute paths). */
  @IsArray() @IsString({ each: true }) secretFiles!: string[];
  /** Cost budgets in USD per API key id, across all its sessions. */
  @IsObject() keyBudgetsUsd!: Record<string, number>;
  @IsArray() @IsString({ each: true }) corsOrigins!: string[];
  @IsInt() @Min(1) rateLimitPerMinute!: number;
  /** The window every rate limit counts over (the "per minute" ones included); shorter only in tests. */
  @IsInt() @Min(1) rateLimitWindowSeconds!: number;
  /** Sessions each provider may start per window; a provider not named has no limit. */
  @IsObject() providerRateLimits!: Record<string, number>;
  /**
   * Failed authentications (REST and WS handshake) per client address per window; past it the address
   * gets RATE_LIMITED until the window ends, even with a valid key (see AuthFailureLimiter).
   */
  @IsInt() @Min(1) authFailureLimit!: number;
  /**
   * Proxies whose X-Forwarded-For is believed, as Express's `trust proxy` takes them (a hop count, or
   * addresses, CIDRs, loopback/linklocal/uniquelocal); unset: the connection's address is the client's.
   */
  @IsOptional() trustProxy?: number | string[];
  @ValidateNested() @Type(() => ClaudeConfig) claude!: ClaudeConfig;
  @ValidateNested() @Type(() => OpencodeConfig) opencode!: OpencodeConfig;
  @ValidateNested() @Type(() => ScriptedConfig) scripted!: ScriptedConfig;
  /** With it every committed event is also published to NATS JetStream; unset, nothing is. */
  @IsOptional()
  @Matches(NATS_URL, { message: '$property must look like nats://host:port' })
  natsUrl?: string;
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, {
    message: '$property must be a JetStream stream name (letters, digits, _ and -)',
  })
  natsStream!: string;
  @IsInt() @Min(1) natsMaxPending!: number;
  /** Cluster mode: with it, nodes share sessions through Redis (and need a PostgreSQL store). */
  @IsOptional()
  @Matches(/^rediss?:\/\/\S+$/, { message: '$property must look like redis://host:port' })
  redisUrl?: string;
  /** This node's id in the store and in Redis: unique per node, stable across its restarts. */
  @Matches(/^[A-Za-z0-9_.:-]{1,128}$/, {
    message: '$property must be letters, digits, and _ . : - (at most 128)',
  })
  nodeId!: string;
  /** How long a node's lease lives without renewal before its sessions are taken as lost. */
  @IsInt() @Min(3) nodeLeaseSeconds!: number;
  /** On SIGTERM, the longest the node takes to suspend its sessions and close before it exits. */
  @IsInt() @Min(1) shutdownGraceSeconds!: number;
}

/** A configuration error: one line naming the key and what was expected. */
export class ConfigError extends Error {}

type Source = Record<string, unknown>;

/**
 * Env (JELMORE_*) over the JSON file named by JELMORE_CONFIG (snake_case keys, as in the seed) over
 * defaults. Throws ConfigError naming the first bad key as the user wrote it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): JelmoreConfig {
  const file = env.JELMORE_CONFIG ? readConfigFile(env.JELMORE_CONFIG) : {};
  const fileClaude = (objectAt(file, 'providers', 'claude') ?? {}) as Source;
  const fileOpencode = (objectAt(file, 'providers', 'opencode') ?? {}) as Source;
  const fileScripted = (objectAt(file, 'providers', 'scripted') ?? {}) as Source;
  const keys: Record<string, string> = {};
  const pick = (
    path: string,
    envName: string,
    fileKey: string | undefined,
    source: Source,
    parse: (v: string) => unknown,
    fallback: unknown,
  ) => {
    if (env[envName] !== undefined && env[envName] !== '') {
      keys[path] = envName;
      return parse(env[envName]);
    }
    if (fileKey && source[fileKey] !== undefined) {
      const section = path.includes('.') ? `providers.${path.split('.')[0]}.` : '';
      keys[path] = `${env.JELMORE_CONFIG}: ${section}${fileKey}`;
      return source[fileKey];
    }
    keys[path] = envName;
    return fallback;
  };
  const dataDir = pick('dataDir', 'JELMORE_DATA_DIR', 'data_dir', file, String, './data') as string;
  const plain = {
    keyBudgetsUsd: parseKeyBudgets(env.JELMORE_KEY_BUDGETS, file.key_budgets, env.JELMORE_CONFIG),
    apiKeys: parseApiKeys(env.JELMORE_API_KEYS, env.JELMORE_API_KEYS_FILE),
    agentSandbox: pick(
      'agentSandbox',
      'JELMORE_AGENT_SANDBOX',
      'agent_sandbox',
      file,
      String,
      'bwrap',
    ),
    agentNetwork: pick(
      'agentNetwork',
      'JELMORE_AGENT_NETWORK',
      'agent_network',
      file,
      String,
      'host',
    ),
    secretFiles: [env.JELMORE_CONFIG, env.JELMORE_API_KEYS_FILE]
      .filter((path): path is string => !!path)
      .map((path) => resolve(path)),
    corsOrigins: pick('corsOrigins', 'JELMORE_CORS_ORIGINS', 'cors_origins', file, toList, []),
    rateLimitPerMinute: pick(
      'rateLimitPerMinute',
      'JELMORE_RATE_LIMIT_PER_MINUTE',
      'rate_limit_per_minute',
      file,
      toInt,
      600,
    ),
    trustProxy: trustProxySetting(
      pick('trustProxy', 'JELMORE_TRUST_PROXY', 'trust_proxy', file, String, undefined),
      keys,
    ),
    rateLimitWindowSeconds: pick(
      'rateLimitWindowSeconds',
      'JELMORE_RATE_LIMIT_WINDOW_SECONDS',
      'rate_limit_window_seconds',
      file,
      toInt,
      60,
    ),
    authFailureLimit: pick(
      'authFailureLimit',
      'JELMORE_AUTH_FAILURE_LIMIT',
      'auth_failure_limit',
      file,
      toInt,
      20,
    ),
    providerRateLimits: parseProviderRateLimits(
      env.JELMORE_PROVIDER_RATE_LIMITS,
      objectAt(file, 'providers'),
      env.JELMORE_CONFIG,
    ),
    port: pick('port', 'JELMORE_PORT', 'port', file, toInt, 3000),
    // Loopback until API keys exist: nothing else should reach an unauthenticated agent runner.
    host: pick('host', 'JELMORE_HOST', 'host', file, String, '127.0.0.1'),
    databaseUrl: pick(
      'databaseUrl',
      'JELMORE_DATABASE_URL',
      'database_url',
      file,
      String,
      `sqlite:${dataDir}/jelmore.db`,
    ),
    dataDir,
    workspaceRoot: pick(
      'workspaceRoot',
      'JELMORE_WORKSPACE_ROOT',
      'workspace_root',
      file,
      String,
      './workspace',
    ),
    sharedWorkspace: pick(
      'sharedWorkspace',
      'JELMORE_SHARED_WORKSPACE',
      'shared_workspace',
      file,
      String,
      undefined,
    ),
    logLevel: pick('logLevel', 'JELMORE_LOG_LEVEL', 'log_level', file, String, 'info'),
    sessionTtlSeconds: pick(
      'sessionTtlSeconds',
      'JELMORE_SESSION_TTL_SECONDS',
      'session_ttl_seconds',
      file,
      toInt,
      DEFAULT_SESSIONS_OPTIONS.sessionTtlSeconds,
    ),
    eventRetentionSeconds: pick(
      'eventRetentionSeconds',
      'JELMORE_EVENT_RETENTION_SECONDS',
      'event_retention_seconds',
      file,
      toInt,
      DEFAULT_SESSIONS_OPTIONS.eventRetentionSeconds,
    ),
    permissionTimeoutSeconds: pick(
      'permissionTimeoutSeconds',
      'JELMORE_PERMISSION_TIMEOUT_SECONDS',
      'permission_timeout_seconds',
      file,
      toInt,
      DEFAULT_SESSIONS_OPTIONS.permissionTimeoutSeconds,
    ),
    defaultProvider: pick(
      'defaultProvider',
      'JELMORE_DEFAULT_PROVIDER',
      'default_provider',
      file,
      String,
      'claude',
    ),
    loadBalancing: pick(
      'loadBalancing',
      'JELMORE_LOAD_BALANCING',
      'load_balancing',
      file,
      toBool,
      false,
    ),
    costOptimization: pick(
      'costOptimization',
      'JELMORE_COST_OPTIMIZATION',
      'cost_optimization',
      file,
      toBool,
      false,
    ),
    circuitFailureThreshold: pick(
      'circuitFailureThreshold',
      'JELMORE_CIRCUIT_FAILURE_THRESHOLD',
      'circuit_failure_threshold',
      file,
      toInt,
      DEFAULT_CIRCUIT_OPTIONS.failureThreshold,
    ),
    circuitCooldownSeconds: pick(
      'circuitCooldownSeconds',
      'JELMORE_CIRCUIT_COOLDOWN_SECONDS',
      'circuit_cooldown_seconds',
      file,
      toInt,
      DEFAULT_CIRCUIT_OPTIONS.cooldownMs / 1000,
    ),
    claude: {
      enabled: pick(
        'claude.enabled',
        'JELMORE_CLAUDE_ENABLED',
        'enabled',
        fileClaude,
        toBool,
        DEFAULT_CLAUDE_OPTIONS.enabled,
      ),
      bin: pick('claude.bin', 'JELMORE_CLAUDE_BIN', 'claude_bin', fileClaude, String, undefined),
      defaultModel: pick(
        'claude.defaultModel',
        'JELMORE_CLAUDE_DEFAULT_MODEL',
        'default_model',
        fileClaude,
        String,
        DEFAULT_CLAUDE_OPTIONS.defaultModel,
      ),
      maxConcurrentSessions: pick(
        'claude.maxConcurrentSessions',
        'JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS',
        'max_concurrent_sessions',
        fileClaude,
        toInt,
        DEFAULT_CLAUDE_OPTIONS.maxConcurrentSessions,
      ),
      permissionMode: pick(
        'claude.permissionMode',
        'JELMORE_CLAUDE_PERMISSION_MODE',
        'permission_mode',
        fileClaude,
        String,
        DEFAULT_CLAUDE_OPTIONS.permissionMode,
      ),
      allowedTools: pick(
        'claude.allowedTools',
        'JELMORE_CLAUDE_ALLOWED_TOOLS',
        'allowed_tools',
        fileClaude,
        toList,
        DEFAULT_CLAUDE_OPTIONS.allowedTools,
      ),
      warmPoolSize: pick(
        'claude.warmPoolSize',
        'JELMORE_CLAUDE_WARM_POOL_SIZE',
        'warm_pool_size',
        fileClaude,
        toInt,
        DEFAULT_CLAUDE_OPTIONS.warmPoolSize,
      ),
    },
    opencode: {
      enabled: pick(
        'opencode.enabled',
        'JELMORE_OPENCODE_ENABLED',
        'enabled',
        fileOpencode,
        toBool,
        DEFAULT_OPENCODE_OPTIONS.enabled,
      ),
      apiEndpoint: pick(
        'opencode.apiEndpoint',
        'JELMORE_OPENCODE_API_ENDPOINT',
        'api_endpoint',
        fileOpencode,
        String,
        undefined,
      ),
      bin: pick(
        'opencode.bin',
        'JELMORE_OPENCODE_BIN',
        'opencode_bin',
        fileOpencode,
        String,
        undefined,
      ),
      baseUrl: pick(
        'opencode.baseUrl',
        'JELMORE_OPENCODE_BASE_URL',
        'base_url',
        fileOpencode,
        String,
        undefined,
      ),
      // Keys come from the environment only, never from a file that may be committed or shared.
      apiKey: pick(
        'opencode.apiKey',
        'JELMORE_OPENCODE_API_KEY',
        undefined,
        fileOpencode,
        String,
        undefined,
      ),
      defaultModel: pick(
        'opencode.defaultModel',
        'JELMORE_OPENCODE_DEFAULT_MODEL',
        'default_model',
        fileOpencode,
        String,
        DEFAULT_OPENCODE_OPTIONS.defaultModel,
      ),
      maxConcurrentSessions: pick(
        'opencode.maxConcurrentSessions',
        'JELMORE_OPENCODE_MAX_CONCURRENT_SESSIONS',
        'max_concurrent_sessions',
        fileOpencode,
        toInt,
        DEFAULT_OPENCODE_OPTIONS.maxConcurrentSessions,
      ),
      models: modelOverrides(
        fileOpencode.models,
        `${env.JELMORE_CONFIG}: providers.opencode.models`,
      ),
    },
    scripted: {
      enabled: pick(
        'scripted.enabled',
        'JELMORE_SCRIPTED_ENABLED',
        'enabled',
        fileScripted,
        toBool,
        false,
      ),
      maxConcurrentSessions: pick(
        'scripted.maxConcurrentSessions',
        'JELMORE_SCRIPTED_MAX_CONCURRENT_SESSIONS',
        'max_concurrent_sessions',
        fileScripted,
        toInt,
        2000,
      ),
    },
    natsUrl: pick('natsUrl', 'JELMORE_NATS_URL', 'nats_url', file, String, undefined),
    redisUrl: pick('redisUrl', 'JELMORE_REDIS_URL', 'redis_url', file, String, undefined),
    nodeLeaseSeconds: pick(
      'nodeLeaseSeconds',
      'JELMORE_NODE_LEASE_SECONDS',
      'node_lease_seconds',
      file,
      toInt,
      15,
    ),
    shutdownGraceSeconds: pick(
      'shutdownGraceSeconds',
      'JELMORE_SHUTDOWN_GRACE_SECONDS',
      'shutdown_grace_seconds',
      file,
      toInt,
      25,
    ),
    natsStream: pick(
      'natsStream',
      'JELMORE_NATS_STREAM',
      'nats_stream',
      file,
      String,
      DEFAULT_NATS_STREAM,
    ),
    natsMaxPending: pick(
      'natsMaxPending',
      'JELMORE_NATS_MAX_PENDING',
      'nats_max_pending',
      file,
      toInt,
      DEFAULT_NATS_MAX_PENDING,
    ),
  };
  const nodeId = pick('nodeId', 'JELMORE_NODE_ID', 'node_id', file, String, undefined) as
    string | undefined;
  const config = plainToInstance(JelmoreConfig, {
    ...plain,
    // Host and port tell apart nodes on one machine, and stay the same when a node restarts.
    nodeId: nodeId ?? `${hostname()}-${String(plain.port)}`,
  });
  const errors = validateSync(config, { forbidUnknownValues: true });
  if (errors.length > 0) throw new ConfigError(describe(errors[0], keys));
  const unknownBudget = Object.keys(config.keyBudgetsUsd).find(
    (id) => !config.apiKeys.some((k) => k.id === id),
  );
  if (unknownBudget) {
    throw new ConfigError(
      `Invalid configuration: JELMORE_KEY_BUDGETS names '${unknownBudget}', which is not a key id in JELMORE_API_KEYS`,
    );
  }
  const opencodeModelIds = opencodeModels(config.opencode.models).flatMap((m) => [
    m.id,
    ...m.aliases,
  ]);
  if (!opencodeModelIds.includes(config.opencode.defaultModel)) {
    throw new ConfigError(
      `Invalid configuration: ${keys['opencode.defaultModel']} must be one of ${opencodeModelIds.join(', ')} (got ${JSON.stringify(config.opencode.defaultModel)})`,
    );
  }
  if (!resolveClaudeModel(config.claude.defaultModel)) {
    throw new ConfigError(
      `Invalid configuration: ${keys['claude.defaultModel']} must be a Claude model id or alias such as opus, sonnet or haiku (got ${JSON.stringify(config.claude.defaultModel)})`,
    );
  }
  config.dataDir = resolve(config.dataDir);
  config.workspaceRoot = resolve(config.workspaceRoot);
  if (config.sharedWorkspace !== undefined) {
    // Relative to the root, like a session's cwd; the root itself would let every key into every folder.
    const shared = resolve(config.workspaceRoot, config.sharedWorkspace);
    const rel = relative(config.workspaceRoot, shared);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new ConfigError(
        `Invalid configuration: ${keys.sharedWorkspace} must be a folder inside the workspace root ${config.workspaceRoot}, not the root itself (got ${JSON.stringify(config.sharedWorkspace)})`,
      );
    }
    config.sharedWorkspace = shared;
  }
  if (config.databaseUrl.startsWith('sqlite:')) {
    const db = resolve(config.databaseUrl.slice('sqlite:'.length));
    config.secretFiles.push(db, `${db}-wal`, `${db}-shm`);
  }
  return config;
}

function describe(error: ClassValidationError, keys: Record<string, string>, prefix = ''): string {
  const path = `${prefix}${error.property}`;
  if (!error.constraints && error.children?.length) {
    return describe(error.children[0], keys, `${path}.`);
  }
  // Name the type a value should have before its range: "must be an integer" beats "must not be > 65535".
  const constraints = error.constraints ?? {};
  const key =
    Object.keys(constraints).find((k) => /^is(Int|Boolean|String|Array|In)$/.test(k)) ??
    Object.keys(constraints)[0];
  const expected = key ? constraints[key].replace(/^\S+ /, '') : 'is invalid';
  return `Invalid configuration: ${keys[path] ?? path} ${expected} (got ${JSON.stringify(hidePassword(error.value))})`;
}

/** A URL's password (`scheme://user:secret@host`) never reaches an error message. */
function hidePassword(value: unknown): unknown {
  return typeof value === 'string'
    ? value.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@')
    : value;
}

/** `providers.opencode.models` of the file: per-model id, context window and prices, by canonical id. */
function modelOverrides(value: unknown, where: string): Record<string, OpencodeModelOverride> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`Invalid configuration: ${where} must be an object keyed by model id`);
  }
  const known = opencodeModels({}).map((m) => m.id);
  const fields = {
    id: 'string',
    context_window: 'number',
    input_price_per_mtok: 'number',
    output_price_per_mtok: 'number',
  } as const;
  return Object.fromEntries(
    Object.entries(value as Source).map(([model, raw]) => {
      if (!known.includes(model)) {
        throw new ConfigError(
          `Invalid configuration: ${where}.${model} is not a known model (${known.join(', ')})`,
        );
      }
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new ConfigError(`Invalid configuration: ${where}.${model} must be an object`);
      }
      const entry = raw as Source;
      for (const [key, v] of Object.entries(entry)) {
        const type = fields[key as keyof typeof fields] as 'string' | 'number' | undefined;
        const ok =
          type === 'string'
            ? typeof v === 'string' && v !== ''
            : type === 'number' && typeof v === 'number' && v >= 0;
        if (!ok) {
          throw new ConfigError(
            `Invalid configuration: ${where}.${model}.${key} ${type ? `must be a ${type === 'number' ? 'non-negative number' : 'non-empty string'}` : `is not one of ${Object.keys(fields).join(', ')}`} (got ${JSON.stringify(v)})`,
          );
        }
      }
      return [
        model,
        {
          id: entry.id as string | undefined,
          contextWindow: entry.context_window as number | undefined,
          inputPricePerMTok: entry.input_price_per_mtok as number | undefined,
          outputPricePerMTok: entry.output_price_per_mtok as number | undefined,
        },
      ];
    }),
  );
}

/** `id:usd,...` in JELMORE_KEY_BUDGETS, else `key_budgets: { id: usd }` in the file. */
function parseKeyBudgets(
  fromEnv: string | undefined,
  fromFile: unknown,
  file?: string,
): Record<string, number> {
  const where = fromEnv ? 'JELMORE_KEY_BUDGETS' : `${file}: key_budgets`;
  let entries: Array<[string, unknown]>;
  if (fromEnv?.trim()) {
    entries = fromEnv.split(',').map((entry) => {
      const [id, usd] = entry.trim().split(':');
      return [id, usd === undefined || usd === '' ? NaN : Number(usd)];
    });
  } else if (fromFile === undefined) {
    return {};
  } else if (fromFile && typeof fromFile === 'object' && !Array.isArray(fromFile)) {
    entries = Object.entries(fromFile);
  } else {
    throw new ConfigError(`Invalid configuration: ${where} must map key ids to USD amounts`);
  }
  for (const [id, usd] of entries) {
    if (!id || typeof usd !== 'number' || !Number.isFinite(usd) || usd < 0) {
      throw new ConfigError(
        `Invalid configuration: ${where} entry '${id}' must be <key id>:<USD, a non-negative number>`,
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, number>;
}

/**
 * `name:count,...` in JELMORE_PROVIDER_RATE_LIMITS (the whole map), else each
 * `providers.<name>.sessions_per_minute` of the file.
 */
function parseProviderRateLimits(
  fromEnv: string | undefined,
  fileProviders: unknown,
  file?: string,
): Record<string, number> {
  const limits: Record<string, number> = {};
  const add = (name: string, count: unknown, where: string) => {
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      throw new ConfigError(
        `Invalid configuration: ${where} must be a whole number of sessions per minute, at least 1 (got ${JSON.stringify(count)})`,
      );
    }
    limits[name] = count;
  };
  if (fromEnv?.trim()) {
    for (const entry of fromEnv.split(',').map((e) => e.trim())) {
      const match = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63}):(\d+)$/.exec(entry);
      if (!match) {
        throw new ConfigError(
          `Invalid configuration: JELMORE_PROVIDER_RATE_LIMITS entry '${entry}' must be <provider>:<sessions per minute>, e.g. claude:30`,
        );
      }
      add(match[1], Number(match[2]), `JELMORE_PROVIDER_RATE_LIMITS entry '${entry}'`);
    }
  } else if (fileProviders && typeof fileProviders === 'object' && !Array.isArray(fileProviders)) {
    for (const [name, section] of Object.entries(fileProviders as Source)) {
      const count = objectAt(section as Source, 'sessions_per_minute');
      if (count !== undefined) add(name, count, `${file}: providers.${name}.sessions_per_minute`);
    }
  }
  return limits;
}

/** `id:key[:admin]`, comma-separated. The message never repeats a key. */
/** JELMORE_TRUST_PROXY or the file's trust_proxy (a number, a string, or a list of strings), checked. */
function trustProxySetting(
  value: unknown,
  keys: Record<string, string>,
): number | string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : '';
  const parsed = parseTrustProxy(text);
  if (parsed !== undefined) return parsed;
  throw new ConfigError(
    `Invalid configuration: ${keys.trustProxy} must be a hop count or comma-separated addresses, CIDRs or loopback, linklocal, uniquelocal (got ${JSON.stringify(value)})`,
  );
}

/**
 * The keys of JELMORE_API_KEYS and of the file JELMORE_API_KEYS_FILE names (owner-only: mode 0600 or
 * stricter), kept as digests. A key file keeps keys out of the server's environment.
 */
function parseApiKeys(value: string | undefined, file: string | undefined): ApiKey[] {
  const entries = [
    ...(value?.trim() ? value.split(',') : []),
    ...(file ? readKeysFile(file).split(/[,\n]/) : []),
  ].filter((entry) => entry.trim() !== '' && !entry.trim().startsWith('#'));
  if (entries.length === 0) return [];
  const keys = entries.map((entry, i) => {
    const parts = entry.trim().split(':');
    const [id, key, role] = parts;
    const ok =
      parts.length >= 2 &&
      parts.length <= 3 &&
      /^[A-Za-z0-9_.-]{1,64}$/.test(id) &&
      key.length >= 16 &&
      (role === undefined || role === 'admin');
    if (!ok) {
      throw new ConfigError(
        `Invalid configuration: JELMORE_API_KEYS entry ${i + 1} must be id:key or id:key:admin, with an id of letters, digits, _ . - and a key of at least 16 characters`,
      );
    }
    return { id, digest: keyDigest(key), admin: role === 'admin' };
  });
  const ids = keys.map((k) => k.id);
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice)
    throw new ConfigError(`Invalid configuration: JELMORE_API_KEYS names the id '${twice}' twice`);
  return keys;
}

function readKeysFile(path: string): string {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    throw new ConfigError(`Invalid configuration: JELMORE_API_KEYS_FILE ${path} cannot be read`);
  }
  if ((mode & 0o077) !== 0) {
    throw new ConfigError(
      `Invalid configuration: JELMORE_API_KEYS_FILE ${path} must be readable by its owner only (chmod 600; it is ${(mode & 0o777).toString(8)})`,
    );
  }
  return readFileSync(path, 'utf8');
}

/** SHA-256 of an API key, hex: how keys are kept and compared. */
export function keyDigest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

function readConfigFile(path: string): Source {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration: JELMORE_CONFIG file ${path} cannot be read (${(err as NodeJS.ErrnoException).code})`,
    );
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Source;
  } catch {
    // Reported below.
  }
  throw new ConfigError(
    `Invalid configuration: JELMORE_CONFIG file ${path} must hold a JSON object`,
  );
}

function objectAt(source: Source, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (value, key) => (value && typeof value === 'object' ? (value as Source)[key] : undefined),
    source,
  );
}

function toInt(value: string): unknown {
  return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
}

function toBool(value: string): unknown {
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
}

function toList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
