import type { AgentCapabilities, McpServer } from '@agentclientprotocol/sdk';
import type { SessionConfig } from '@jelmore/contracts';

/**
 * The session's MCP servers (Streamable HTTP) as `session/new` and `session/load` take them, when the
 * agent announced `mcpCapabilities.http` at initialize: ACP has clients offer no transport an agent did
 * not announce. `refused` tells that the session had servers the agent cannot take.
 */
export function acpMcpServers(
  servers: SessionConfig['mcpServers'],
  capabilities: AgentCapabilities | undefined,
): { mcpServers: McpServer[]; refused: boolean } {
  if (!servers?.length) return { mcpServers: [], refused: false };
  if (!capabilities?.mcpCapabilities?.http) return { mcpServers: [], refused: true };
  const mcpServers = servers.map((server): McpServer => ({
    type: 'http',
    name: server.name,
    url: server.url,
    headers: Object.entries(server.headers).map(([name, value]) => ({ name, value })),
  }));
  return { mcpServers, refused: false };
}
