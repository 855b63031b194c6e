import { IsBoolean, IsIn, IsInt, IsOptional, IsString, IsUrl, Min } from 'class-validator';
import { applySettingRules } from '@jelmore/contracts';
import { parseSetting, ProviderSetting, settingDefaults } from '../provider-settings';

/** Approval modes of the Gemini CLI (`--approval-mode`); headless, nobody answers a prompt. */
export const GEMINI_APPROVAL_MODES = ['yolo', 'auto_edit', 'default', 'plan'] as const;
export type GeminiApprovalMode = (typeof GEMINI_APPROVAL_MODES)[number];

/** The Gemini provider's settings: `JELMORE_GEMINI_*` over `providers.gemini` of JELMORE_CONFIG. */
export class GeminiOptions {
  enabled!: boolean;
  /** The CLI's entry (`gemini.js` or a binary); by default the one installed from npm with this package. */
  bin?: string;
  /** The Gemini API endpoint, e.g. a proxy or a local fake; the CLI's own default when unset. */
  baseUrl?: string;
  /** The Gemini API key: from the environment only (JELMORE_GEMINI_API_KEY). */
  apiKey?: string;
  defaultModel!: string;
  maxConcurrentSessions!: number;
  approvalMode!: GeminiApprovalMode;
}

/** The settings of the Gemini provider: where each comes from, its default, rules and meaning. */
export const GEMINI_SETTINGS: { [K in keyof GeminiOptions]-?: ProviderSetting } = {
  apiKey: {
    env: 'JELMORE_GEMINI_API_KEY',
    secret: true,
    rules: [IsOptional(), IsString()],
    description: 'The Gemini API key. Without it the provider is unhealthy and refuses sessions.',
  },
  baseUrl: {
    env: 'JELMORE_GEMINI_BASE_URL',
    file: 'base_url',
    defaultText: "the CLI's default",
    rules: [IsOptional(), IsUrl({ require_tld: false, require_protocol: true })],
    description: 'The Gemini API endpoint (`GOOGLE_GEMINI_BASE_URL` for the CLI), e.g. a proxy.',
  },
  enabled: {
    env: 'JELMORE_GEMINI_ENABLED',
    file: 'enabled',
    parse: parseSetting.bool,
    default: true,
    rules: [IsBoolean()],
    description: 'A disabled provider is unhealthy and refuses sessions.',
  },
  bin: {
    env: 'JELMORE_GEMINI_BIN',
    file: 'bin',
    defaultText: "the npm package's",
    rules: [IsOptional(), IsString()],
    description: "The CLI: its `gemini.js` (run with the server's node) or an executable.",
  },
  defaultModel: {
    env: 'JELMORE_GEMINI_DEFAULT_MODEL',
    file: 'default_model',
    default: 'gemini-2.5-flash',
    rules: [IsString()],
    description: 'The model of a session that names none.',
  },
  maxConcurrentSessions: {
    env: 'JELMORE_GEMINI_MAX_CONCURRENT_SESSIONS',
    file: 'max_concurrent_sessions',
    parse: parseSetting.int,
    default: 10,
    rules: [IsInt(), Min(1)],
    description: 'Live sessions at once.',
  },
  approvalMode: {
    env: 'JELMORE_GEMINI_APPROVAL_MODE',
    file: 'approval_mode',
    // The agent edits and runs commands in its session directory without asking, as Claude's acceptEdits
    // + allowed Bash does: in `default` mode the headless CLI leaves out every tool that needs approval
    // (run_shell_command answers "not found").
    default: 'yolo',
    rules: [IsIn(GEMINI_APPROVAL_MODES)],
    description:
      '`--approval-mode`; in `default` the headless CLI leaves out every tool that needs approval (shell).',
  },
};
applySettingRules(GEMINI_SETTINGS, { '': GeminiOptions });

export const DEFAULT_GEMINI_OPTIONS = settingDefaults<GeminiOptions>(GEMINI_SETTINGS) as Omit<
  GeminiOptions,
  'bin' | 'baseUrl' | 'apiKey'
>;
