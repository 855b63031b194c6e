import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  IsUrl,
  Min,
} from 'class-validator';
import { loadProviderSettings, parseSetting, ProviderSetting } from '../provider-settings';
import { CODEX_MODELS } from './codex.models';

/** Codex's `--sandbox` modes for the commands the model runs. */
export const CODEX_SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access'] as const;
export type CodexSandboxMode = (typeof CODEX_SANDBOX_MODES)[number];

/** The Codex provider's settings, from JELMORE_CODEX_* and `providers.codex` of the config file. */
export class CodexSettings {
  @IsBoolean() enabled!: boolean;
  /** The OpenAI Responses API endpoint the models are reached through; without it, the provider is off. */
  @IsOptional()
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  baseUrl?: string;
  /** Its key: from the environment only. */
  @IsOptional() @IsString() apiKey?: string;
  /** The codex binary; by default the one installed from npm with this package. */
  @IsOptional() @IsString() @IsNotEmpty() bin?: string;
  @IsIn(CODEX_MODELS.flatMap((m) => [m.id, ...m.aliases])) defaultModel!: string;
  @IsInt() @Min(1) maxConcurrentSessions!: number;
  @IsIn(CODEX_SANDBOX_MODES) sandbox!: CodexSandboxMode;
}

const FIELDS: { [K in keyof CodexSettings]-?: ProviderSetting } = {
  enabled: { env: 'JELMORE_CODEX_ENABLED', file: 'enabled', parse: parseSetting.bool },
  baseUrl: { env: 'JELMORE_CODEX_BASE_URL', file: 'base_url' },
  apiKey: { env: 'JELMORE_CODEX_API_KEY' },
  bin: { env: 'JELMORE_CODEX_BIN', file: 'bin' },
  defaultModel: { env: 'JELMORE_CODEX_DEFAULT_MODEL', file: 'default_model' },
  maxConcurrentSessions: {
    env: 'JELMORE_CODEX_MAX_CONCURRENT_SESSIONS',
    file: 'max_concurrent_sessions',
    parse: parseSetting.int,
  },
  sandbox: { env: 'JELMORE_CODEX_SANDBOX', file: 'sandbox' },
};

export const DEFAULT_CODEX_SETTINGS: Partial<CodexSettings> = {
  enabled: true,
  defaultModel: 'gpt-5.5',
  maxConcurrentSessions: 10,
  // Commands may write inside the session's directory only, with no network: the safe default.
  sandbox: 'workspace-write',
};

/** Reads and validates the settings; throws ProviderSettingsError naming the bad variable or key. */
export function loadCodexSettings(env: NodeJS.ProcessEnv = process.env): CodexSettings {
  return loadProviderSettings('codex', CodexSettings, FIELDS, DEFAULT_CODEX_SETTINGS, env);
}
