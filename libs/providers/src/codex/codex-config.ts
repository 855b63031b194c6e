import type { CodexSandboxMode } from './codex.settings';

/** The variable Codex reads the model API key from (`env_key`); tools never see it (see below). */
export const CODEX_KEY_ENV = 'JELMORE_CODEX_API_KEY';
/** The model provider id in Codex's config. */
export const CODEX_PROVIDER_ID = 'jelmore';

export interface CodexConfigInput {
  baseUrl: string;
  model: string;
  sandbox: CodexSandboxMode;
}

/**
 * `$CODEX_HOME/config.toml`: our Responses endpoint as the only model provider, headless (no approvals,
 * no update check, no analytics or feedback uploads, no web search) so a turn needs nothing but the
 * endpoint. Strings are JSON-quoted, which TOML basic strings accept.
 */
export function codexConfigToml(input: CodexConfigInput): string {
  const q = (value: string) => JSON.stringify(value);
  return [
    '# Written by Jelmore at start: changes here are overwritten.',
    `model = ${q(input.model)}`,
    `model_provider = ${q(CODEX_PROVIDER_ID)}`,
    // Nobody is there to approve a command: the sandbox is what confines them.
    'approval_policy = "never"',
    `sandbox_mode = ${q(input.sandbox)}`,
    'check_for_update_on_startup = false',
    'web_search = "disabled"',
    '',
    '[analytics]',
    'enabled = false',
    '',
    '[feedback]',
    'enabled = false',
    '',
    '[history]',
    'persistence = "none"',
    '',
    // Commands the model runs inherit the agent's environment; the API key must not be in it.
    '[shell_environment_policy]',
    'exclude = ["JELMORE_*"]',
    '',
    `[model_providers.${CODEX_PROVIDER_ID}]`,
    'name = "Jelmore"',
    `base_url = ${q(input.baseUrl)}`,
    `env_key = ${q(CODEX_KEY_ENV)}`,
    'wire_api = "responses"',
    '',
  ].join('\n');
}
