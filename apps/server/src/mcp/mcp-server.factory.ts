import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { NotFoundError } from '@jelmore/contracts';
import type { Principal } from '../auth/api-keys.service';
import { API_VERSION } from '../docs/asyncapi.document';
import { argumentsError, toRpcError } from './mcp-errors';
import type { McpTool, ToolContext } from './mcp-tool';

/** Told to the client at initialize: how the tools fit together. */
const INSTRUCTIONS =
  'Jelmore runs AI coding agents as sessions. start_session with wait: true runs a query and returns ' +
  "the turn's final text; send_input continues the conversation; without wait, follow a session " +
  'with wait_for_result or get_events. Errors carry a stable code in their data (e.g. SESSION_NOT_FOUND).';

/**
 * Builds the MCP server for one request (the transport is stateless): the SDK's low-level Server with
 * our own tools/list and tools/call, not McpServer, whose tools/call turns every failure, unknown tool
 * and bad arguments included, into an `isError` text with no code.
 */
export class McpServerFactory {
  private readonly byName: ReadonlyMap<string, McpTool>;
  /** The listing, converted once: every server of every request lists the same tools. */
  private readonly listing: Tool[];

  constructor(tools: readonly McpTool[]) {
    this.byName = new Map(tools.map((tool) => [tool.name, tool]));
    this.listing = tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      // draft-07, as the SDK's McpServer lists zod schemas (its client validates with Ajv's default).
      inputSchema: z.toJSONSchema(tool.input, {
        target: 'draft-7',
        io: 'input',
      }) as Tool['inputSchema'],
      outputSchema: z.toJSONSchema(tool.output, {
        target: 'draft-7',
        io: 'output',
      }) as Tool['outputSchema'],
      ...(tool.annotations ? { annotations: tool.annotations } : {}),
    }));
  }

  create(principal: Principal): Server {
    const server = new Server(
      { name: 'jelmore', version: API_VERSION },
      { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: this.listing }));
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const token = extra._meta?.progressToken;
      const context: ToolContext = {
        principal,
        signal: extra.signal,
        ...(token === undefined
          ? {}
          : {
              progress: (progress: number, message: string) => {
                // A client gone meanwhile is no error of the tool's.
                extra
                  .sendNotification({
                    method: 'notifications/progress',
                    params: { progressToken: token, progress, message },
                  })
                  .catch(() => undefined);
              },
            }),
      };
      try {
        return await this.call(request.params.name, request.params.arguments, context);
      } catch (err) {
        // The client left (or cancelled): the SDK answers nobody, so there is nothing to report or log.
        if (extra.signal.aborted) throw err;
        throw toRpcError(err);
      }
    });
    return server;
  }

  private async call(name: string, args: unknown, context: ToolContext): Promise<CallToolResult> {
    const tool = this.byName.get(name);
    if (!tool) {
      throw new NotFoundError(
        `Unknown tool '${name}'; tools: ${[...this.byName.keys()].join(', ')}`,
      );
    }
    const parsed = tool.input.safeParse(args ?? {});
    if (!parsed.success) throw argumentsError(name, parsed.error);
    // Parsed, so only the schema's fields go out (a resource may have more than it lists).
    const result = tool.output.parse(await tool.run(parsed.data, context));
    // The text is the same JSON, for clients that give the model only the text (the spec's advice).
    return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
  }
}
