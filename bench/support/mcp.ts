import { readFileSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { processesMentioning } from '../../test/support/processes';

/** Where a delegating session's agent reaches Jelmore's MCP server, and the token it calls it with. */
export interface DelegationServer {
  url: string;
  token: string;
}

/** What start_session with wait: true answers (mcp.schemas.ts, turnOutcomeSchema), as far as read here. */
export interface TurnOutcome {
  session: { id: string; parentId?: string };
  result?: { text: string; durationMs: number };
}

/**
 * An MCP client connected to `url` (initialize, then the initialized notification, as the SDK does on
 * connect), acting with `token` when given, else as whoever a request without one is.
 */
export async function mcpClient(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'jelmore-bench', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : {},
  });
  await client.connect(transport);
  return client;
}

/** start_session with wait: true: returns when the new session's first turn has its result. */
export async function startAndWait(
  client: Client,
  args: Record<string, unknown>,
): Promise<TurnOutcome> {
  const answer = (await client.callTool(
    { name: 'start_session', arguments: { ...args, wait: true } },
    undefined,
    { timeout: 60_000 },
  )) as CallToolResult;
  if (answer.isError) throw new Error(`start_session: ${JSON.stringify(answer.content)}`);
  const outcome = answer.structuredContent as unknown as TurnOutcome;
  if (!outcome.result?.text) throw new Error(`start_session: no result: ${JSON.stringify(answer)}`);
  return outcome;
}

/**
 * The MCP server Jelmore gave a delegating Claude session's agent, read from the CLI's process
 * (`--mcp-config`, see claudeMcpLaunch): the URL from its command line, and the token the agent calls
 * with from the environment variable its config names (readable by the same user only). Undefined until
 * the CLI runs. Any process of the agent will do (a sandboxed one is bwrap, its init and the CLI, all
 * with the same arguments and environment).
 */
export function delegationServerOf(sessionId: string): DelegationServer | undefined {
  for (const pid of processesMentioning(`--session-id ${sessionId}`)) {
    let argv: string[];
    let environ: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue; // Ended while we looked.
    }
    const at = argv.indexOf('--mcp-config');
    if (at < 0) continue;
    const config = JSON.parse(argv[at + 1]) as {
      mcpServers: Record<string, { url: string; headers?: Record<string, string> }>;
    };
    const server = config.mcpServers.jelmore;
    const variable = /^\$\{(\w+)\}$/.exec(server?.headers?.Authorization ?? '')?.[1];
    const header = environ
      .find((entry) => entry.startsWith(`${variable}=`))
      ?.slice(`${variable}=`.length);
    const token = /^Bearer (\S+)$/.exec(header ?? '')?.[1];
    if (server && token) return { url: server.url, token };
  }
  return undefined;
}
