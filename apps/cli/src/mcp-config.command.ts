import type { Command } from 'commander';
import type { Terminal } from './event-printer';

/** An `mcpServers` entry of Claude Code's `--mcp-config` file, Cursor's `mcp.json` and the like. */
export interface McpClientConfig {
  mcpServers: Record<string, { type: 'http'; url: string; headers?: { Authorization: string } }>;
}

/** The config that reaches the MCP server of the Jelmore at `server` (its /mcp) with `key`. */
export function mcpConfig(server: string, key: string | undefined, name: string): McpClientConfig {
  const url = URL.parse(server);
  // `localhost:3000` parses too, with the scheme `localhost:`.
  if (!url || !/^https?:$/.test(url.protocol)) {
    throw new Error(`--server must be an http(s) URL: got ${server}`);
  }
  // Beside the API, wherever the server is mounted (a proxy may serve it under a path).
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/mcp`;
  return {
    mcpServers: {
      [name]: {
        type: 'http',
        url: url.href,
        ...(key ? { headers: { Authorization: `Bearer ${key}` } } : {}),
      },
    },
  };
}

/** `jelmore mcp-config`: prints the config, with the server and key the other commands use. */
export function addMcpConfigCommand(program: Command, term: Terminal): void {
  program
    .command('mcp-config')
    .description(
      "print the JSON an MCP client (Claude Code's --mcp-config, Cursor's mcp.json) needs to use this server's tools",
    )
    .option('--name <name>', 'the name the client knows the server by', 'jelmore')
    .action((local: { name: string }, command: Command) => {
      const { server, key } = command.optsWithGlobals<{ server: string; key?: string }>();
      term.out.write(`${JSON.stringify(mcpConfig(server, key, local.name), null, 2)}\n`);
      if (!key) {
        term.err.write(
          'No --key (or JELMORE_API_KEY): without an Authorization header, only a server without API keys answers.\n',
        );
      }
    });
}
