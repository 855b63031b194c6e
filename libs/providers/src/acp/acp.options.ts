import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Min,
  MinLength,
} from 'class-validator';
import { applySettingRules, PERMISSION_POLICIES, PermissionPolicy } from '@jelmore/contracts';
import { ProviderSetting } from '../provider-settings';

/** What an ACP agent may be given besides text (text documents go to any agent, as text). */
export const ACP_INPUT_KINDS = ['image', 'pdf'] as const;
export type AcpInputKind = (typeof ACP_INPUT_KINDS)[number];

/** One model an ACP agent serves, as the config file lists it (snake_case there; see MODEL_LIST_KEYS). */
export interface AcpModelEntry {
  id: string;
  name?: string;
  aliases?: string[];
  context_window?: number;
  max_output?: number;
  input_price_per_mtok?: number;
  output_price_per_mtok?: number;
}

/**
 * An agent spoken to over the Agent Client Protocol: a `providers.<name>` entry of the JELMORE_CONFIG
 * file with `"type": "acp"`. Adding one is configuration only.
 */
export class AcpAgentOptions {
  type!: 'acp';
  command!: string;
  args!: string[];
  /** The agent's environment besides the allow-listed basics; `${NAME}` reads the server's. */
  env!: Record<string, string>;
  models!: AcpModelEntry[];
  defaultModel?: string;
  maxConcurrentSessions!: number;
  enabled!: boolean;
  /** What a session that names no permission policy gets. */
  defaultPermissions!: PermissionPolicy;
  /** How long the agent may take to answer `initialize` and open the session. */
  startTimeoutSeconds!: number;
  /** false: used only for sessions that name the provider or one of its models. */
  autoSelect!: boolean;
  /** Images and PDFs its model takes: what selection may send it (the agent must announce them too). */
  input!: AcpInputKind[];
  /** Its sessions per rate window: read by the selection layer (JELMORE_PROVIDER_RATE_LIMITS). */
  sessionsPerMinute?: number;
}

/** The keys of an ACP entry, where each comes from, its default and meaning (file only: no variables). */
export const ACP_SETTINGS: { [K in keyof AcpAgentOptions]-?: ProviderSetting } = {
  type: {
    file: 'type',
    rules: [IsIn(['acp'])],
    description: '`acp`: the entry is an agent spoken to over the Agent Client Protocol (stdio).',
  },
  command: {
    file: 'command',
    rules: [IsString(), MinLength(1)],
    description:
      "The agent's executable: a path, or a name looked up in the server's PATH (e.g. `goose`). A `.js` or `.mjs` file runs with the server's node.",
  },
  args: {
    file: 'args',
    default: [],
    defaultText: 'none',
    rules: [IsArray(), IsString({ each: true })],
    description: 'Its arguments, e.g. `["acp"]`.',
  },
  env: {
    file: 'env',
    default: {},
    defaultText: 'none',
    rules: [IsObject()],
    description:
      'Variables the agent gets besides PATH, LANG, TZ and proxies. A value may reference the server\'s environment as `"${NAME}"`, so secrets stay out of the file.',
  },
  models: {
    file: 'models',
    default: [],
    defaultText: 'one model named after the provider',
    rules: [IsArray()],
    description:
      'The models it serves: `[{"id", "aliases", "context_window", "input_price_per_mtok", "output_price_per_mtok"}]` (prices 0 unless given), for selection, budgets and pricing.',
  },
  defaultModel: {
    file: 'default_model',
    defaultText: 'the first model',
    rules: [IsOptional(), IsString()],
    description: 'The model of a session that names none.',
  },
  maxConcurrentSessions: {
    file: 'max_concurrent_sessions',
    default: 5,
    rules: [IsInt(), Min(1)],
    description: 'Live sessions at once (one agent process each).',
  },
  enabled: {
    file: 'enabled',
    default: true,
    rules: [IsBoolean()],
    description: 'A disabled provider is unhealthy and refuses sessions.',
  },
  defaultPermissions: {
    file: 'default_permissions',
    default: 'bypass',
    rules: [IsIn(PERMISSION_POLICIES)],
    description:
      'The permission policy of a session that names none: the agent runs in its sandbox either way.',
  },
  startTimeoutSeconds: {
    file: 'start_timeout_seconds',
    default: 30,
    rules: [IsInt(), Min(1)],
    description: 'How long the agent may take to answer `initialize` and open a session.',
  },
  autoSelect: {
    file: 'auto_select',
    default: true,
    rules: [IsBoolean()],
    description: 'false: only sessions that name the provider or one of its models use it.',
  },
  input: {
    file: 'input',
    default: [],
    defaultText: 'text only',
    rules: [
      IsArray(),
      IsIn(ACP_INPUT_KINDS, {
        each: true,
        message: `must list only ${ACP_INPUT_KINDS.join(' and ')}`,
      }),
    ],
    description:
      'What its model takes besides text: `["image", "pdf"]`. Sessions with images or PDFs go only to a provider that lists them; the agent must also announce them (see Images and documents).',
  },
  sessionsPerMinute: {
    file: 'sessions_per_minute',
    custom: true,
    description: 'Sessions it may start per rate window (as for every provider).',
  },
};
applySettingRules(ACP_SETTINGS, { '': AcpAgentOptions });
