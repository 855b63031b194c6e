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
import { applySettingRules } from '@jelmore/contracts';
import {
  loadProviderSettings,
  parseSetting,
  ProviderSetting,
  settingDefaults,
} from '../provider-settings';
import { CODEX_MODELS } from './codex.models';

/** Codex's `--sandbox` modes for the commands the model runs. */
export const CODEX_SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access'] as const;
export type CodexSandboxMode = (typeof CODEX_SANDBOX_MODES)[number];

/** The Codex provider's settings, from JELMORE_CODEX_* and `providers.codex` of the config file. */
export class CodexSettings {
  enabled!: boolean;
  /** The OpenAI Responses API endpoint the models are reached through; without it, the provider is off. */
  baseUrl?: string;
  /** Its key: from the environment only. */
  apiKey?: string;
  /** The codex binary; by default the one installed from npm with this package. */
  bin?: string;
  defaultModel!: string;
  maxConcurrentSessions!: number;
  sandbox!: CodexSandboxMode;
}

/** The settings of the Codex provider: where each comes from, its default, rules and meaning. */
export const CODEX_SETTINGS: { [K in keyof CodexSettings]-?: ProviderSetting } = {
  baseUrl: {
    env: 'JELMORE_CODEX_BASE_URL',
    file: 'base_url',
    rules: [
      IsOptional(),
      IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] }),
    ],
    description:
      'An OpenAI Responses API base URL (`.../v1`). Without it the provider is unhealthy and refuses sessions.',
  },
  apiKey: {
    env: 'JELMORE_CODEX_API_KEY',
    secret: true,
    rules: [IsOptional(), IsString()],
    description:
      "Its key, handed to Codex as `JELMORE_CODEX_API_KEY` (the config's `env_key`); the commands it runs never see it.",
  },
  enabled: {
    env: 'JELMORE_CODEX_ENABLED',
    file: 'enabled',
    parse: parseSetting.bool,
    default: true,
    rules: [IsBoolean()],
    description: 'A disabled provider is unhealthy and refuses sessions.',
  },
  bin: {
    env: 'JELMORE_CODEX_BIN',
    file: 'bin',
    defaultText: "the npm package's",
    rules: [IsOptional(), IsString(), IsNotEmpty()],
    description:
      "The codex binary (by default the native one of `@openai/codex-<platform>`, else the package's `codex.js`).",
  },
  defaultModel: {
    env: 'JELMORE_CODEX_DEFAULT_MODEL',
    file: 'default_model',
    default: 'gpt-5.5',
    rules: [IsIn(CODEX_MODELS.flatMap((m) => [m.id, ...m.aliases]))],
    description: 'The model of a session that names none.',
  },
  maxConcurrentSessions: {
    env: 'JELMORE_CODEX_MAX_CONCURRENT_SESSIONS',
    file: 'max_concurrent_sessions',
    parse: parseSetting.int,
    default: 10,
    rules: [IsInt(), Min(1)],
    description: 'Live sessions at once.',
  },
  sandbox: {
    env: 'JELMORE_CODEX_SANDBOX',
    file: 'sandbox',
    // Commands may write inside the session's directory only, with no network: the safe default.
    default: 'workspace-write',
    rules: [IsIn(CODEX_SANDBOX_MODES)],
    description:
      "Codex's sandbox for the model's commands: `read-only`, `workspace-write` (writes in the session directory, no network) or `danger-full-access`.",
  },
};
applySettingRules(CODEX_SETTINGS, { '': CodexSettings });

export const DEFAULT_CODEX_SETTINGS: Partial<CodexSettings> =
  settingDefaults<CodexSettings>(CODEX_SETTINGS);

/** Reads and validates the settings; throws ProviderSettingsError naming the bad variable or key. */
export function loadCodexSettings(env: NodeJS.ProcessEnv = process.env): CodexSettings {
  return loadProviderSettings('codex', CodexSettings, CODEX_SETTINGS, DEFAULT_CODEX_SETTINGS, env);
}
