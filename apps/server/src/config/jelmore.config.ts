// class-transformer's @Type reads decorator metadata when the classes below are defined.
import 'reflect-metadata';
import { plainToInstance, Type } from 'class-transformer';
import {
  IsArray,
  IsString,
  ValidateNested,
  validateSync,
  ValidationError as ClassValidationError,
} from 'class-validator';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import {
  applySettingRules,
  type Isolation,
  loadSettingsTable,
  nestSettings,
} from '@jelmore/contracts';
import {
  AcpAgentConfig,
  builtInProviderNames,
  ClaudePermissionMode,
  loadAcpAgents,
  OpencodeModelsSetting,
  ProviderSettingsError,
  resolveClaudeModel,
} from '@jelmore/providers';
import { parseTrustProxy } from '../common/client-address';
import { ConfigError } from './config-error';
import { isShareToken, SHARE_TOKEN_PREFIX } from '../shares/share-token';
import { opencodeDefaultModel, opencodeModelsSetting } from './opencode-models.config';
import { loadMiddleware } from './policies/middleware.config';
import { loadTraffic, type TrafficConfig } from './policies/traffic.config';
import { loadWebhooks, type WebhooksConfig } from './policies/webhooks.config';
import { loadPush, type PushConfig } from './policies/push.config';
import { loadShares, type SharesConfig } from './policies/shares.config';
import { JELMORE_SETTINGS, LOG_LEVELS } from './settings';

export { ConfigError, LOG_LEVELS };

// The fields' sources, defaults and validation rules are the rows of JELMORE_SETTINGS (./settings).

export class ClaudeConfig {
  enabled!: boolean;
  bin?: string;
  defaultModel!: string;
  maxConcurrentSessions!: number;
  permissionMode!: ClaudePermissionMode;
  allowedTools!: string[];
  warmPoolSize!: number;
}

export class OpencodeConfig {
  enabled!: boolean;
  apiEndpoint?: string;
  bin?: string;
  baseUrl?: string;
  apiKey?: string;
  defaultModel!: string;
  maxConcurrentSessions!: number;
  /** The file's model list (replacing the built-in models), or overrides of the built-in ones. */
  models!: OpencodeModelsSetting;
}

export class ScriptedConfig {
  enabled!: boolean;
  maxConcurrentSessions!: number;
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
  port!: number;
  host!: string;
  databaseUrl!: string;
  dataDir!: string;
  workspaceRoot!: string;
  defaultIsolation!: Isolation;
  delegationDefault!: boolean;
  delegationMaxDepth!: number;
  delegationMaxChildren!: number;
  /** A folder in the workspace root every key's sessions may work in (absolute once loaded); unset: none. */
  sharedWorkspace?: string;
  logLevel!: (typeof LOG_LEVELS)[number];
  sessionTtlSeconds!: number;
  eventRetentionSeconds!: number;
  /** A tool permission request nobody answers this long is denied. */
  permissionTimeoutSeconds!: number;
  maxAttachmentBytes!: number;
  maxTurnAttachmentBytes!: number;
  maxContentBlocks!: number;
  /** Any provider found in libs/providers (one folder each). */
  defaultProvider!: string;
  loadBalancing!: boolean;
  costOptimization!: boolean;
  circuitFailureThreshold!: number;
  circuitCooldownSeconds!: number;
  /**
   * From JELMORE_API_KEYS and JELMORE_API_KEYS_FILE (`id:key[:admin]`, comma- or line-separated), as
   * digests; empty: no auth, loopback only.
   */
  apiKeys!: ApiKey[];
  /** `bwrap`: each agent process in a bubblewrap sandbox (agents refuse to start without a working one). */
  agentSandbox!: 'bwrap' | 'off';
  /** What network a sandboxed agent has: the host's (its model API), or none. */
  agentNetwork!: 'host' | 'none';
  /** Files no agent may see: the config and key files, the SQLite database (absolute paths). */
  @IsArray() @IsString({ each: true }) secretFiles!: string[];
  /** Cost budgets in USD per API key id, across all its sessions. */
  keyBudgetsUsd!: Record<string, number>;
  corsOrigins!: string[];
  rateLimitPerMinute!: number;
  /** Of those, how many at once: a token bucket refilled at the per-minute rate. */
  rateLimitBurst!: number;
  /** The window every rate limit counts over (the "per minute" ones included); shorter only in tests. */
  rateLimitWindowSeconds!: number;
  /** Sessions each provider may start per window; a provider not named has no limit. */
  providerRateLimits!: Record<string, number>;
  /**
   * Failed authentications (REST and WS handshake) per client address per window; past it the address
   * gets RATE_LIMITED until the window ends, even with a valid key (see AuthFailureLimiter).
   */
  authFailureLimit!: number;
  /**
   * Proxies whose X-Forwarded-For is believed, as Express's `trust proxy` takes them (a hop count, or
   * addresses, CIDRs, loopback/linklocal/uniquelocal); unset: the connection's address is the client's.
   */
  trustProxy?: number | string[];
  /** URLs a key registers (webhooks, push endpoints) may reach private networks. */
  allowPrivateNetworks!: boolean;
  @ValidateNested() @Type(() => ClaudeConfig) claude!: ClaudeConfig;
  @ValidateNested() @Type(() => OpencodeConfig) opencode!: OpencodeConfig;
  @ValidateNested() @Type(() => ScriptedConfig) scripted!: ScriptedConfig;
  /** Agents spoken to over ACP: the file's `providers.<name>` entries with `"type": "acp"`. */
  acpAgents!: AcpAgentConfig[];
  /** Routing by complexity and A/B experiments (`routing`, `experiments`: see ./policies). */
  traffic!: TrafficConfig;
  /** The built-in session middlewares: the redactor, the prompt prefix and suffix (see ./policies). */
  middleware!: ReturnType<typeof loadMiddleware>;
  /** Operator-wide webhooks and delivery retries (docs/webhooks.md). */
  webhooks!: WebhooksConfig;
  /** Web Push from the dashboard: VAPID keys and action tokens (docs/push.md). */
  push!: PushConfig;
  /** Read-only share links: lifetimes and public origin (docs/shares.md). */
  shares!: SharesConfig;
  /** The response cache's bounds (docs/cache.md). */
  cacheTtlSeconds!: number;
  cacheMaxEntries!: number;
  webhookRetryBaseMs!: number;
  webhookMaxAttempts!: number;
  webhookTimeoutMs!: number;
  cacheMaxBytes!: number;
  /** With it every committed event is also published to NATS JetStream; unset, nothing is. */
  natsUrl?: string;
  natsStream!: string;
  natsMaxPending!: number;
  /** Cluster mode: with it, nodes share sessions through Redis (and need a PostgreSQL store). */
  redisUrl?: string;
  /** This node's id in the store and in Redis: unique per node, stable across its restarts. */
  nodeId!: string;
  /** How long a node's lease lives without renewal before its sessions are taken as lost. */
  nodeLeaseSeconds!: number;
  /** On SIGTERM, the longest the node takes to suspend its sessions and close before it exits. */
  shutdownGraceSeconds!: number;
}

applySettingRules(JELMORE_SETTINGS, {
  '': JelmoreConfig,
  claude: ClaudeConfig,
  opencode: OpencodeConfig,
  scripted: ScriptedConfig,
});

type Source = Record<string, unknown>;

/**
 * Env (JELMORE_*) over the JSON file named by JELMORE_CONFIG (snake_case keys, as in the seed) over
 * defaults. Throws ConfigError naming the first bad key as the user wrote it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): JelmoreConfig {
  const file = env.JELMORE_CONFIG ? readConfigFile(env.JELMORE_CONFIG) : {};
  // Every row of the table but the few with their own parsers (keys, budgets, limits, models) below.
  const { values, where: keys } = loadSettingsTable(
    JELMORE_SETTINGS,
    env,
    file,
    env.JELMORE_CONFIG,
  );
  // In the order they were always checked, so the first error reported stays the same.
  const keyBudgetsUsd = parseKeyBudgets(
    env.JELMORE_KEY_BUDGETS,
    file.key_budgets,
    env.JELMORE_CONFIG,
  );
  const apiKeys = parseApiKeys(env.JELMORE_API_KEYS, env.JELMORE_API_KEYS_FILE);
  values.trustProxy = trustProxySetting(values.trustProxy, keys);
  const providerRateLimits = parseProviderRateLimits(
    env.JELMORE_PROVIDER_RATE_LIMITS,
    objectAt(file, 'providers'),
    env.JELMORE_CONFIG,
  );
  values['opencode.models'] = opencodeModelsSetting(
    objectAt(file, 'providers', 'opencode', 'models'),
    `${env.JELMORE_CONFIG}: providers.opencode.models`,
  );
  const config = plainToInstance(JelmoreConfig, {
    ...nestSettings(values),
    keyBudgetsUsd,
    apiKeys,
    secretFiles: [env.JELMORE_CONFIG, env.JELMORE_API_KEYS_FILE]
      .filter((path): path is string => !!path)
      .map((path) => resolve(path)),
    providerRateLimits,
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
  config.opencode.defaultModel = opencodeDefaultModel(
    config.opencode.models,
    config.opencode.defaultModel,
    !!env.JELMORE_OPENCODE_DEFAULT_MODEL ||
      objectAt(file, 'providers', 'opencode', 'default_model') !== undefined,
    keys['opencode.defaultModel'],
  );
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
  config.acpAgents = acpAgents(file, env);
  config.traffic = loadTraffic(env, file, env.JELMORE_CONFIG);
  config.middleware = loadMiddleware(env, file, env.JELMORE_CONFIG);
  config.webhooks = loadWebhooks(config, file, env.JELMORE_CONFIG);
  config.push = loadPush(env, file, env.JELMORE_CONFIG);
  config.shares = loadShares(env, file, env.JELMORE_CONFIG);
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

/** The ACP agents of the file; their errors are configuration errors like any other. */
function acpAgents(file: Source, env: NodeJS.ProcessEnv): AcpAgentConfig[] {
  try {
    return loadAcpAgents(
      file.providers,
      env.JELMORE_CONFIG ?? 'JELMORE_CONFIG',
      builtInProviderNames(),
      env,
    );
  } catch (err) {
    if (err instanceof ProviderSettingsError) throw new ConfigError(err.message);
    throw err;
  }
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
    // The key guard takes such a token for a share link's and refuses it: the key would never work.
    if (isShareToken(key)) {
      throw new ConfigError(
        `Invalid configuration: JELMORE_API_KEYS entry ${i + 1} ('${id}') starts with ${SHARE_TOKEN_PREFIX}, the prefix of share link tokens: choose another key`,
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
