/* eslint-disable @typescript-eslint/no-require-imports -- the MCP stack is loaded on first use (below) */
import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import { SessionsService } from '@jelmore/sessions';
import type { Principal } from '../auth/api-keys.service';
import { JelmoreConfig } from '../config/jelmore.config';
import { DelegationEndpoint } from './delegation-endpoint';
import type { McpServerFactory } from './mcp-server.factory';
import type { McpTools } from './mcp-tools.service';

interface Loaded {
  tools: McpTools;
  factory: McpServerFactory;
  Transport: typeof StreamableHTTPServerTransport;
}

/**
 * The MCP server's parts, loaded the first time they are needed: the SDK, zod and the tools' schemas
 * hold ~15 MB of RSS (~6 MiB of heap) that a server no agent or client calls over MCP never uses. The
 * load (~0.3 s, synchronous) happens at boot when sessions delegate by default, else on the first
 * delegating session or the first /mcp request.
 */
@Injectable()
export class McpServers implements OnModuleInit, OnModuleDestroy {
  private loaded?: Loaded;
  private closed = false;

  constructor(
    private readonly config: JelmoreConfig,
    private readonly sessions: SessionsService,
    private readonly registry: ProviderRegistry,
    private readonly selector: ProviderSelector,
    private readonly delegation: DelegationEndpoint,
  ) {}

  onModuleInit(): void {
    this.delegation.beforeServe = () => this.load();
    if (this.config.delegationDefault) this.load();
  }

  /** A server and a transport for one request (the transport is stateless), acting as `principal`. */
  open(principal: Principal): { server: Server; transport: StreamableHTTPServerTransport } {
    const { factory, Transport } = this.load();
    return {
      server: factory.create(principal),
      transport: new Transport({ sessionIdGenerator: undefined }),
    };
  }

  /** Loads the parts now if they are not: a session whose agent may call /mcp is starting. */
  load(): Loaded {
    if (this.loaded) return this.loaded;
    const { McpTools } = require('./mcp-tools.service') as typeof import('./mcp-tools.service');
    const { McpServerFactory } =
      require('./mcp-server.factory') as typeof import('./mcp-server.factory');
    const { StreamableHTTPServerTransport: Transport } =
      require('@modelcontextprotocol/sdk/server/streamableHttp.js') as typeof import('@modelcontextprotocol/sdk/server/streamableHttp.js');
    const tools = new McpTools(this.sessions, this.registry, this.selector);
    if (this.closed) tools.onModuleDestroy();
    this.loaded = { tools, factory: new McpServerFactory(tools.all), Transport };
    return this.loaded;
  }

  onModuleDestroy(): void {
    this.closed = true;
    this.loaded?.tools.onModuleDestroy();
  }
}
