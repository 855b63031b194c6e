import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderUnavailableError } from '@jelmore/contracts';
import { ProviderSettingsError } from '../provider-settings';
import type { ProvidersModuleOptions } from '../providers.options';
import { GeminiProvider } from './gemini.provider';

describe('GeminiProvider', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'jelmore-gemini-'));
  });

  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  // The provider reads only the data dir and the environment of the shared options.
  const provider = (env: NodeJS.ProcessEnv) =>
    new GeminiProvider({ dataDir, env } as ProvidersModuleOptions);

  it('stays unhealthy, saying why, and refuses sessions until it has an API key', async () => {
    const gemini = provider({});
    expect(await gemini.healthCheck()).toMatchObject({
      healthy: false,
      reason: 'no API key: set JELMORE_GEMINI_API_KEY',
    });
    expect(() => gemini.createSession({ sessionId: 's1', cwd: dataDir })).toThrow(
      ProviderUnavailableError,
    );
  });

  it('with a key, runs the installed CLI`s --version and writes its settings into the tenant`s HOME', async () => {
    const gemini = provider({ JELMORE_GEMINI_API_KEY: 'k' });
    expect(await gemini.healthCheck()).toMatchObject({ healthy: true, version: '0.61.0' });
    await gemini.createSession({ sessionId: 's1', cwd: dataDir, tenant: 'bob' }).terminate();
    const settings = JSON.parse(
      readFileSync(
        join(dataDir, 'agents', 'gemini', 'tenants', 'bob', '.gemini', 'settings.json'),
        'utf8',
      ),
    ) as Record<string, unknown>;
    expect(settings).toMatchObject({
      security: {
        auth: { selectedType: 'gemini-api-key' },
        environmentVariableRedaction: { enabled: true },
      },
      privacy: { usageStatisticsEnabled: false },
      general: { enableAutoUpdate: false, sessionRetention: { enabled: false } },
    });
  });

  it('reports a CLI that is not there', async () => {
    const gemini = provider({ JELMORE_GEMINI_API_KEY: 'k', JELMORE_GEMINI_BIN: '/nowhere/gemini' });
    expect(await gemini.healthCheck()).toMatchObject({
      healthy: false,
      reason: 'Gemini CLI at /nowhere/gemini is missing or not executable',
    });
  });

  it('reads providers.gemini of JELMORE_CONFIG under its own variables, and fails on a bad value', () => {
    const file = join(dataDir, 'jelmore.json');
    writeFileSync(
      file,
      JSON.stringify({
        providers: { gemini: { default_model: 'gemini-pro', max_concurrent_sessions: 3 } },
      }),
    );
    const gemini = provider({ JELMORE_CONFIG: file });
    expect(gemini.resolveModel()?.id).toBe('gemini-2.5-pro');
    expect(gemini.capabilities.maxConcurrentSessions).toBe(3);
    expect(
      provider({
        JELMORE_CONFIG: file,
        JELMORE_GEMINI_DEFAULT_MODEL: 'gemini-flash-lite',
      }).resolveModel()?.id,
    ).toBe('gemini-2.5-flash-lite');
    expect(() => provider({ JELMORE_GEMINI_APPROVAL_MODE: 'sometimes' })).toThrow(
      ProviderSettingsError,
    );
    expect(() => provider({ JELMORE_GEMINI_APPROVAL_MODE: 'sometimes' })).toThrow(
      /JELMORE_GEMINI_APPROVAL_MODE/,
    );
  });

  it('serves its models by id and alias, and no other provider`s', () => {
    const gemini = provider({});
    expect(gemini.resolveModel('gemini-flash')?.id).toBe('gemini-2.5-flash');
    expect(gemini.resolveModel('gemini-3-pro-preview')?.inputPricePerMTok).toBe(2);
    expect(gemini.resolveModel('sonnet')).toBeUndefined();
    expect(gemini.resolveModel()?.id).toBe('gemini-2.5-flash');
  });
});
