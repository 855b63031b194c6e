import type { SessionConfig } from '@jelmore/contracts';
import { mcpHeaderVariables } from '../mcp-header-variables';
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

/**
 * How long one MCP tool call may take: Jelmore's `start_session`/`send_input` with `wait` block for up
 * to an hour (the MCP server's MAX_WAIT_SECONDS). Codex's own default is a minute.
 */
const MCP_TOOL_TIMEOUT_SEC = 3660;

/** The `-c` arguments and variables that give a turn the session's MCP servers (Streamable HTTP). */
export interface CodexMcpLaunch {
  args: string[];
  env: Record<string, string>;
}

/**
 * The session's MCP servers as `-c mcp_servers.<name>={...}` overrides: per turn and per session, while
 * config.toml is the tenant's. Header values go through `env_http_headers` (variables the CLI reads),
 * so tokens are in no file and no argument; commands never see them (`exclude = ["JELMORE_*"]`).
 * `approve`: approval_policy is never, so a tool that needed approval would fail; Jelmore checks each
 * call of its own server itself.
 */
export function codexMcpLaunch(servers: SessionConfig['mcpServers']): CodexMcpLaunch {
  // A `-c` path takes bare keys only; Codex itself allows no other server names.
  const named = (servers ?? []).filter((server) => /^[A-Za-z0-9_-]+$/.test(server.name));
  const variables = mcpHeaderVariables(named);
  const launch: CodexMcpLaunch = { args: [], env: variables.env };
  named.forEach((server, i) => {
    const headers = Object.entries(variables.headers[i]).map(
      ([header, variable]) => `${JSON.stringify(header)}=${JSON.stringify(variable)}`,
    );
    const table = [
      `url=${JSON.stringify(server.url)}`,
      `env_http_headers={${headers.join(',')}}`,
      'default_tools_approval_mode="approve"',
      `tool_timeout_sec=${MCP_TOOL_TIMEOUT_SEC}`,
    ];
    launch.args.push('-c', `mcp_servers.${server.name}={${table.join(',')}}`);
  });
  return launch;
}
