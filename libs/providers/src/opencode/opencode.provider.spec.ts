import { Logger } from '@nestjs/common';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { McpServerConfig, ProviderUnavailableError } from '@jelmore/contracts';
import type { ProvidersModuleOptions } from '../providers.options';
import { DEFAULT_OPENCODE_OPTIONS, OpencodeOptions } from './opencode.options';
import { OpencodeProvider } from './opencode.provider';

describe('OpencodeProvider', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'jelmore-opencode-'));
  });

  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const provider = (
    opencode: Partial<OpencodeOptions>,
    sandbox: ProvidersModuleOptions['sandbox'] = { mode: 'bwrap', network: 'host' },
  ) =>
    new OpencodeProvider({
      dataDir,
      sandbox,
      opencode: { ...DEFAULT_OPENCODE_OPTIONS, ...opencode },
    } as ProvidersModuleOptions);

  const session = { sessionId: 's1', cwd: tmpdir(), tenant: 'alice' };
  const baseUrl = 'http://127.0.0.1:9/v1';

  it('without a model endpoint, is idle and says what to set', async () => {
    const idle = provider({});
    await idle.onModuleInit();
    expect((await idle.healthCheck()).reason).toContain('JELMORE_OPENCODE_BASE_URL');
    expect(() => idle.createSession(session)).toThrow(ProviderUnavailableError);
  });

  it('is healthy with the installed opencode; a session`s server waits for its first turn', async () => {
    const opencode = provider({ baseUrl });
    await opencode.onModuleInit();
    expect(await opencode.healthCheck()).toMatchObject({ healthy: true, version: '1.18.33' });
    const agent = opencode.createSession(session);
    // Nothing runs before the first turn; the tenant's home is there for it.
    expect(agent.pid).toBeUndefined();
    expect(existsSync(join(dataDir, 'agents', 'opencode', 'tenants', 'alice'))).toBe(true);
    expect(opencode.metrics().activeSessions).toBe(1);
    await agent.terminate();
    expect(opencode.metrics()).toEqual({ activeSessions: 0, totalSessions: 1, failedSessions: 0 });
  });

  it('refuses sessions, and says why in health, when the sandbox does not work', async () => {
    const opencode = provider(
      { baseUrl },
      { mode: 'bwrap', network: 'host', bwrapBin: '/no/bwrap' },
    );
    await opencode.onModuleInit();
    const health = await opencode.healthCheck();
    expect(health.healthy).toBe(false);
    expect(health.reason).toContain('JELMORE_AGENT_SANDBOX=off');
    expect(() => opencode.createSession(session)).toThrow(/agent sandbox does not work/);
  });

  it('refuses sessions with no network in the sandbox: the server`s port would be out of reach', async () => {
    const opencode = provider({ baseUrl }, { mode: 'bwrap', network: 'none' });
    await opencode.onModuleInit();
    expect((await opencode.healthCheck()).reason).toContain('JELMORE_AGENT_NETWORK=none');
    expect(() => opencode.createSession(session)).toThrow(ProviderUnavailableError);
  });

  it('has the session`s own server connect to its MCP servers, with their headers', async () => {
    const mcp = await fakeMcpServer();
    try {
      const opencode = provider({ baseUrl });
      await opencode.onModuleInit();
      const agent = opencode.createSession({ ...session, mcpServers: [mcp.config] });
      // The turn fails (no model behind baseUrl), but opencode lists the session's tools first.
      await agent.start([{ type: 'text', text: 'hi' }]);
      expect(await waitFor(() => mcp.received.some((r) => r.method === 'tools/list'))).toBe(true);
      expect(mcp.received[0]).toEqual({ method: 'initialize', authorization: 'Bearer t0k' });
      expect(mcp.received.every((r) => r.authorization === 'Bearer t0k')).toBe(true);
      await agent.terminate();
    } finally {
      await mcp.close();
    }
  }, 30_000);

  describe('with an external server (JELMORE_OPENCODE_API_ENDPOINT)', () => {
    let server: Server;
    let port: number;
    const authorizations: Array<string | undefined> = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        authorizations.push(req.headers.authorization);
        if (req.headers.authorization !== `Basic ${btoa('ops:s3cret')}`) {
          res.writeHead(401).end();
        } else if (req.url === '/global/event') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"payload":{"type":"server.connected","properties":{}}}\n\n');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });

    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('uses it, with the credentials of its URL, in spite of the sandbox it is outside of', async () => {
      const opencode = provider(
        { apiEndpoint: `http://ops:s3cret@127.0.0.1:${port}/` },
        { mode: 'bwrap', network: 'host', bwrapBin: '/no/bwrap' },
      );
      const warn = jest.spyOn(Logger.prototype, 'warn');
      await opencode.onModuleInit();
      // Named at boot, without its password.
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`127.0.0.1:${port}`));
      expect(JSON.stringify(warn.mock.calls)).not.toContain('s3cret');
      warn.mockRestore();
      expect(await opencode.healthCheck()).toMatchObject({ healthy: true });
      expect(authorizations.length).toBeGreaterThan(0);
      expect(authorizations.every((a) => a === `Basic ${btoa('ops:s3cret')}`)).toBe(true);
      const agent = opencode.createSession(session);
      expect(agent.pid).toBeUndefined();
      await agent.terminate();
      await opencode.onApplicationShutdown();
    });

    it('gives its sessions no MCP server, and says so once: its config is every session`s', async () => {
      const opencode = provider({ apiEndpoint: `http://ops:s3cret@127.0.0.1:${port}` });
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
      const mcpServers: McpServerConfig[] = [{ name: 'jelmore', url: 'http://x/mcp', headers: {} }];
      const agents = [
        opencode.createSession({ ...session, mcpServers }),
        opencode.createSession({ ...session, sessionId: 's2', mcpServers }),
      ];
      expect(warn.mock.calls).toEqual([[expect.stringContaining('get no MCP server')]]);
      warn.mockRestore();
      await Promise.all(agents.map((agent) => agent.terminate()));
      await opencode.onApplicationShutdown();
    });

    it('reports a server that refuses its credentials', async () => {
      const opencode = provider({ apiEndpoint: `http://ops:wrong@127.0.0.1:${port}` });
      const health = await opencode.healthCheck();
      expect(health.healthy).toBe(false);
      expect(health.reason).toContain('answered 401');
      await opencode.onApplicationShutdown();
    });
  });
});

/** A Streamable HTTP MCP server with no tools, recording each request's JSON-RPC method and token. */
async function fakeMcpServer() {
  const received: Array<{ method?: string; authorization?: string }> = [];
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      // Its GET (a stream for server messages) is optional: 405 says there is none.
      if (req.method !== 'POST') return res.writeHead(405).end();
      const message = JSON.parse(body) as { id?: number; method: string; params?: unknown };
      received.push({ method: message.method, authorization: req.headers.authorization });
      if (message.id === undefined) return res.writeHead(202).end();
      const result =
        message.method === 'initialize'
          ? {
              protocolVersion: (message.params as { protocolVersion: string }).protocolVersion,
              capabilities: { tools: {} },
              serverInfo: { name: 'fake', version: '1' },
            }
          : { tools: [] };
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const config: McpServerConfig = {
    name: 'jelmore',
    url: `http://127.0.0.1:${port}/mcp`,
    headers: { authorization: 'Bearer t0k' },
  };
  const close = () => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  };
  return { config, received, close };
}

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

async function waitFor(check: () => boolean, timeoutMs = 20_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !check()) await new Promise((r) => setTimeout(r, 100));
  return check();
}
