import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, ProviderUnavailableError } from '@jelmore/contracts';
import { ProviderSettingsError } from '../provider-settings';
import type { ProvidersModuleOptions } from '../providers.options';
import { defaultCodexBin } from './codex-binary';
import { CodexProvider } from './codex.provider';

describe('CodexProvider', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'jelmore-codex-'));
  });

  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const provider = (env: NodeJS.ProcessEnv, sandbox?: ProvidersModuleOptions['sandbox']) =>
    new CodexProvider({ dataDir, env, sandbox } as ProvidersModuleOptions);

  const session = { sessionId: 's1', cwd: tmpdir() };

  it('stays off, saying why, and refuses sessions until JELMORE_CODEX_BASE_URL is set', async () => {
    const codex = provider({});

    expect(await codex.healthCheck()).toMatchObject({
      healthy: false,
      reason: expect.stringContaining('JELMORE_CODEX_BASE_URL'),
    });
    expect(() => codex.createSession(session)).toThrow(ProviderUnavailableError);
    expect(() => codex.createSession(session)).toThrow(
      expect.objectContaining({ code: ErrorCode.ProviderUnavailable }),
    );
    expect(codex.metrics()).toEqual({ activeSessions: 0, totalSessions: 0, failedSessions: 0 });

    const disabled = provider({
      JELMORE_CODEX_BASE_URL: 'http://127.0.0.1:9/v1',
      JELMORE_CODEX_ENABLED: 'false',
    });
    expect((await disabled.healthCheck()).reason).toContain('disabled');
  });

  it('with a base URL, is healthy with the installed codex and writes its config in the tenant`s home', async () => {
    const codex = provider({
      JELMORE_CODEX_BASE_URL: 'http://127.0.0.1:9/v1',
      JELMORE_CODEX_SANDBOX: 'read-only',
    });
    await codex.onModuleInit();
    expect(await codex.healthCheck()).toMatchObject({
      healthy: true,
      version: 'codex-cli 0.171.0',
    });
    expect(defaultCodexBin()).toMatch(/codex$/);

    const agent = codex.createSession({ ...session, tenant: 'alice' });
    expect(agent.model).toBe('gpt-5.5');
    expect(codex.metrics().activeSessions).toBe(1);
    // The tenant's own home: another tenant's agents never see its threads.
    const config = readFileSync(
      join(dataDir, 'agents', 'codex', 'tenants', 'alice', '.codex', 'config.toml'),
      'utf8',
    );
    expect(config).toContain('base_url = "http://127.0.0.1:9/v1"');
    // Jelmore's sandbox confines the commands (read-only: the workspace is mounted so); Codex's own
    // bwrap cannot run inside it.
    expect(config).toContain('sandbox_mode = "danger-full-access"');
    expect(config).toContain('env_key = "JELMORE_CODEX_API_KEY"');
    expect(config).toContain('exclude = ["JELMORE_*"]');
    await agent.terminate();
    expect(codex.metrics()).toEqual({ activeSessions: 0, totalSessions: 1, failedSessions: 0 });
  });

  it('keeps Codex`s own sandbox mode when Jelmore`s sandbox is off', async () => {
    const codex = provider(
      { JELMORE_CODEX_BASE_URL: 'http://127.0.0.1:9/v1', JELMORE_CODEX_SANDBOX: 'read-only' },
      { mode: 'off', network: 'host' },
    );
    await codex.onModuleInit();
    const agent = codex.createSession(session);
    const config = readFileSync(
      join(dataDir, 'agents', 'codex', 'tenants', 'local', '.codex', 'config.toml'),
      'utf8',
    );
    expect(config).toContain('sandbox_mode = "read-only"');
    await agent.terminate();
  });

  it('takes images but no PDFs, and refuses a PDF turn before any process starts', async () => {
    const codex = provider({ JELMORE_CODEX_BASE_URL: 'http://127.0.0.1:9/v1' });
    expect(codex.capabilities).toMatchObject({ multimodal: true, documents: false });
    await codex.onModuleInit();
    const agent = codex.createSession(session);
    const pdf = Buffer.from('%PDF-1.4\n%%EOF\n');
    await expect(
      agent.start([
        { type: 'text', text: 'summarise' },
        {
          type: 'document',
          attachmentId: 'a1',
          mediaType: 'application/pdf',
          size: pdf.length,
          sha256: 'x',
          bytes: pdf,
        },
      ]),
    ).rejects.toMatchObject({ code: ErrorCode.MultimodalUnsupported });
    expect(agent.pid).toBeUndefined();
    await agent.terminate();
  });

  it('reports a codex binary that is not there', async () => {
    const codex = provider({
      JELMORE_CODEX_BASE_URL: 'http://127.0.0.1:9/v1',
      JELMORE_CODEX_BIN: '/nonexistent/codex',
    });
    expect(await codex.healthCheck()).toMatchObject({
      healthy: false,
      reason: expect.stringContaining('/nonexistent/codex'),
    });
  });

  it('reads providers.codex of JELMORE_CONFIG under its own variables, and fails on a bad value', () => {
    const file = join(dataDir, 'jelmore.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: {
          codex: { base_url: 'http://file:1/v1', max_concurrent_sessions: 3, sandbox: 'read-only' },
        },
      }),
    );
    const fromFile = provider({ JELMORE_CONFIG: file, JELMORE_CODEX_SANDBOX: 'workspace-write' });
    expect(fromFile.capabilities.maxConcurrentSessions).toBe(3);

    expect(() => provider({ JELMORE_CODEX_SANDBOX: 'none' })).toThrow(ProviderSettingsError);
    expect(() => provider({ JELMORE_CODEX_SANDBOX: 'none' })).toThrow(
      /JELMORE_CODEX_SANDBOX must be one of the following values: read-only, workspace-write, danger-full-access/,
    );
    expect(() => provider({ JELMORE_CODEX_DEFAULT_MODEL: 'gpt-2' })).toThrow(
      /JELMORE_CODEX_DEFAULT_MODEL must be one of the following values: gpt-5.5/,
    );
    expect(() => provider({ JELMORE_CODEX_BASE_URL: 'not a url' })).toThrow(
      'Invalid configuration: JELMORE_CODEX_BASE_URL must be a URL address (got "not a url")',
    );
  });

  it('serves its models by id, and no other provider`s', () => {
    const codex = provider({});
    expect(codex.resolveModel()?.id).toBe('gpt-5.5');
    expect(codex.resolveModel('gpt-6.1-sol')?.contextWindow).toBe(500_000);
    expect(codex.resolveModel('sonnet')).toBeUndefined();
    expect(codex.models().every((m) => m.provider === 'codex')).toBe(true);
  });
});
