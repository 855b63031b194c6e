import type { Server } from 'node:http';
import type { McpServerConfig } from '@jelmore/contracts';
import type { DelegatingSession } from '@jelmore/sessions';
import { DelegationTokens } from '../auth/delegation-tokens';

/** The MCP server a name under which agents see it. */
const SERVER_NAME = 'jelmore';

/**
 * Where a delegating session's agent reaches Jelmore's MCP server: this node's own port on loopback
 * (agents run on the node of their session, and share its network unless JELMORE_AGENT_NETWORK=none),
 * with a token of the session.
 */
export class DelegationEndpoint {
  readonly tokens = new DelegationTokens();
  private server?: Server;
  /** Called as a session is given the server: its parts are loaded before its agent calls (McpServers). */
  beforeServe?: () => void;

  /** The HTTP server the app listens with; its address is read when a session needs it. */
  attach(server: Server): void {
    this.server = server;
  }

  serverFor(session: DelegatingSession): McpServerConfig {
    this.beforeServe?.();
    return {
      name: SERVER_NAME,
      url: `${this.baseUrl()}/mcp`,
      headers: { Authorization: `Bearer ${this.tokens.mint(session)}` },
    };
  }

  private baseUrl(): string {
    const address = this.server?.address();
    if (!address || typeof address === 'string') {
      throw new Error('delegation needs the server listening on a TCP port');
    }
    const wildcard = address.address === '0.0.0.0' || address.address === '::';
    const host = wildcard ? '127.0.0.1' : address.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }
}
