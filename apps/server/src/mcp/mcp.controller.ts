import { Controller, Delete, Get, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Principal } from '../auth/api-keys.service';
import { CurrentPrincipal } from '../auth/principal.decorator';
import { AcceptsDelegationTokens } from '../auth/public.decorator';
import { McpServers } from './mcp-servers';

/**
 * The MCP server at /mcp (Streamable HTTP), behind the API-key guard and the per-key throttler like
 * every REST route. Stateless: each POST gets a server and a transport of its own, acting as that
 * request's key, and answers on its own response (JSON, or SSE carrying the call's progress first).
 * No MCP session lives between requests, so any node of a cluster can take any request.
 */
@ApiExcludeController()
@AcceptsDelegationTokens()
@Controller('mcp')
export class McpController {
  private readonly logger = new Logger(McpController.name);

  constructor(private readonly servers: McpServers) {}

  @Post()
  async post(
    @Req() req: Request,
    @Res() res: Response,
    @CurrentPrincipal() principal: Principal,
  ): Promise<void> {
    const { server, transport } = this.servers.open(principal);
    // The response ended, or the client left: a wait still running is aborted with the server.
    res.on('close', () => {
      server.close().catch((err: unknown) => this.logger.warn(`MCP close: ${String(err)}`));
    });
    await server.connect(transport);
    // The app's JSON parser has read the body already.
    await transport.handleRequest(req, res, req.body);
  }

  /** Without MCP sessions there is no stream to open (GET) or session to end (DELETE). */
  @Get()
  get(@Res() res: Response): void {
    notAllowed(res);
  }

  @Delete()
  delete(@Res() res: Response): void {
    notAllowed(res);
  }
}

/** The transport's own answer to a method it does not take (-32000: a server error of JSON-RPC's range). */
function notAllowed(res: Response): void {
  res
    .status(405)
    .set('allow', 'POST')
    .json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: POST only' },
      id: null,
    });
}
