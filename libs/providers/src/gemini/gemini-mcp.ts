import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionConfig } from '@jelmore/contracts';
import { expandedHeaders, mcpHeaderVariables } from '../mcp-header-variables';
import type { GeminiApprovalMode } from './gemini.options';

/**
 * How long one MCP tool call may take: Jelmore's `start_session`/`send_input` with `wait` block for up
 * to an hour (the MCP server's MAX_WAIT_SECONDS). The CLI's own default is ten minutes.
 */
const MCP_TOOL_TIMEOUT_MS = 3_660_000;

/** What a session's runs need for its MCP servers: CLI arguments, variables, and the folder to remove. */
export interface GeminiMcpLaunch {
  args: string[];
  env: Record<string, string>;
  /** The session's extension folder; none for a session without MCP servers. */
  dir?: string;
}

/**
 * The session's MCP servers (Streamable HTTP) for `gemini -p`. The CLI reads MCP servers from its
 * settings, which are the tenant's (one HOME for its sessions), and from extensions, which `-e` picks
 * per run: each delegating session gets an extension of its own, other sessions `-e none`.
 *
 * Header values are `${VAR}`s the CLI fills in from the run's variables: no token on disk. The
 * variables' names hold `TOKEN`, which the settings' environment redaction keeps from the commands the
 * model runs. Under `auto_edit` a `--policy` rule lets the servers' tools run (the CLI ignores `allow`
 * from an extension's own policies, and `trust` in its servers); `yolo` runs every tool anyway; under
 * `default` and `plan` the headless CLI leaves them out, as it does the shell.
 */
export function writeGeminiMcpExtension(
  home: string,
  sessionId: string,
  servers: SessionConfig['mcpServers'],
  approvalMode: GeminiApprovalMode,
): GeminiMcpLaunch {
  if (!servers?.length) return { args: ['--extensions', 'none'], env: {} };
  const name = `jelmore-session-${sessionId}`.toLowerCase();
  const dir = join(home, '.gemini', 'extensions', name);
  const { headers, env } = mcpHeaderVariables(servers);
  const mcpServers = Object.fromEntries(
    servers.map((server, i) => [
      server.name,
      { httpUrl: server.url, headers: expandedHeaders(headers[i]), timeout: MCP_TOOL_TIMEOUT_MS },
    ]),
  );
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(
    join(dir, 'gemini-extension.json'),
    `${JSON.stringify({ name, version: '1.0.0', mcpServers }, null, 2)}\n`,
    { mode: 0o600 },
  );
  const args = ['--extensions', name];
  if (approvalMode === 'auto_edit') {
    // Outside the extension's policies/ folder: only --policy reads it, as the user's own rules.
    const policy = join(dir, 'allow-mcp.toml');
    writeFileSync(policy, servers.map((server) => allowRule(server.name)).join('\n'), {
      mode: 0o600,
    });
    args.push('--policy', policy);
  }
  return { args, env, dir };
}

/** Removes a session's extension (its servers' URLs; the tokens were never in it). */
export function removeGeminiMcpExtension(launch: GeminiMcpLaunch): void {
  if (launch.dir) rmSync(launch.dir, { recursive: true, force: true });
}

function allowRule(server: string): string {
  return [
    '[[rule]]',
    `mcpName = ${JSON.stringify(server)}`,
    'toolName = "*"',
    'decision = "allow"',
    'priority = 500',
    '',
  ].join('\n');
}
