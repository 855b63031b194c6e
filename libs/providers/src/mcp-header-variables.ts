import type { McpServerConfig } from '@jelmore/contracts';

/** The session's MCP servers with each header named by the environment variable that holds it. */
export interface McpHeaderVariables {
  /** Per server (in the session's order): header name → variable name. */
  headers: Array<Record<string, string>>;
  /** The variables to add to the agent's environment. */
  env: Record<string, string>;
}

/**
 * The headers of the session's MCP servers (the delegation token) as environment variables of the
 * agent's process, for the CLIs that read a header from one: no token in a file or on a command line
 * (readable by every process of the machine), only in an environment (readable by its user's). `TOKEN`
 * in the names lets a CLI's own environment redaction keep them from the commands its model runs.
 */
export function mcpHeaderVariables(servers: readonly McpServerConfig[]): McpHeaderVariables {
  const env: Record<string, string> = {};
  const headers = servers.map((server, i) =>
    Object.fromEntries(
      Object.entries(server.headers).map(([header, value], j) => {
        const variable = `JELMORE_MCP_TOKEN_${i}_${j}`;
        env[variable] = value;
        return [header, variable];
      }),
    ),
  );
  return { headers, env };
}

/** `headers` as `${VAR}` references, which Claude Code and Gemini CLI expand in their MCP configs. */
export function expandedHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([header, variable]) => [header, `\${${variable}}`]),
  );
}
