import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Min } from 'class-validator';
import { parseSetting, ProviderSetting } from '../provider-settings';

/** Approval modes of the Gemini CLI (`--approval-mode`); headless, nobody answers a prompt. */
export const GEMINI_APPROVAL_MODES = ['yolo', 'auto_edit', 'default', 'plan'] as const;
export type GeminiApprovalMode = (typeof GEMINI_APPROVAL_MODES)[number];

/** The Gemini provider's settings: `JELMORE_GEMINI_*` over `providers.gemini` of JELMORE_CONFIG. */
export class GeminiOptions {
  @IsBoolean() enabled!: boolean;
  /** The CLI's entry (`gemini.js` or a binary); by default the one installed from npm with this package. */
  @IsOptional() @IsString() bin?: string;
  /** The Gemini API endpoint, e.g. a proxy or a local fake; the CLI's own default when unset. */
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) baseUrl?: string;
  /** The Gemini API key: from the environment only (JELMORE_GEMINI_API_KEY). */
  @IsOptional() @IsString() apiKey?: string;
  @IsString() defaultModel!: string;
  @IsInt() @Min(1) maxConcurrentSessions!: number;
  @IsIn(GEMINI_APPROVAL_MODES) approvalMode!: GeminiApprovalMode;
}

export const GEMINI_SETTINGS: { [K in keyof GeminiOptions]-?: ProviderSetting } = {
  enabled: { env: 'JELMORE_GEMINI_ENABLED', file: 'enabled', parse: parseSetting.bool },
  bin: { env: 'JELMORE_GEMINI_BIN', file: 'bin' },
  baseUrl: { env: 'JELMORE_GEMINI_BASE_URL', file: 'base_url' },
  apiKey: { env: 'JELMORE_GEMINI_API_KEY' },
  defaultModel: { env: 'JELMORE_GEMINI_DEFAULT_MODEL', file: 'default_model' },
  maxConcurrentSessions: {
    env: 'JELMORE_GEMINI_MAX_CONCURRENT_SESSIONS',
    file: 'max_concurrent_sessions',
    parse: parseSetting.int,
  },
  approvalMode: { env: 'JELMORE_GEMINI_APPROVAL_MODE', file: 'approval_mode' },
};

export const DEFAULT_GEMINI_OPTIONS: Omit<GeminiOptions, 'bin' | 'baseUrl' | 'apiKey'> = {
  enabled: true,
  defaultModel: 'gemini-2.5-flash',
  maxConcurrentSessions: 10,
  // The agent edits and runs commands in its session directory without asking, as Claude's acceptEdits +
  // allowed Bash does: in `default` mode the headless CLI leaves out every tool that needs approval
  // (run_shell_command answers "not found").
  approvalMode: 'yolo',
};
