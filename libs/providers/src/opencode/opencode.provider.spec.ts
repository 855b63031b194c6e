import { Logger } from '@nestjs/common';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderUnavailableError } from '@jelmore/contracts';
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

    it('reports a server that refuses its credentials', async () => {
      const opencode = provider({ apiEndpoint: `http://ops:wrong@127.0.0.1:${port}` });
      const health = await opencode.healthCheck();
      expect(health.healthy).toBe(false);
      expect(health.reason).toContain('answered 401');
      await opencode.onApplicationShutdown();
    });
  });
});
