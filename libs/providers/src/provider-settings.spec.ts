import { IsBoolean, IsInt, IsOptional, IsUrl, Min } from 'class-validator';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadProviderSettings, parseSetting, ProviderSettingsError } from './provider-settings';

class DemoSettings {
  @IsBoolean() enabled!: boolean;
  @IsOptional() @IsUrl({ require_tld: false, require_protocol: true }) baseUrl?: string;
  @IsInt() @Min(1) maxConcurrentSessions!: number;
}

const FIELDS = {
  enabled: { env: 'JELMORE_DEMO_ENABLED', file: 'enabled', parse: parseSetting.bool },
  baseUrl: { env: 'JELMORE_DEMO_BASE_URL', file: 'base_url' },
  maxConcurrentSessions: {
    env: 'JELMORE_DEMO_MAX_SESSIONS',
    file: 'max_concurrent_sessions',
    parse: parseSetting.int,
  },
};
const DEFAULTS = { enabled: true, maxConcurrentSessions: 4 };

describe('loadProviderSettings', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-settings-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function configFile(content: unknown): string {
    const path = join(dir, 'jelmore.json');
    writeFileSync(path, JSON.stringify(content));
    return path;
  }

  const load = (env: NodeJS.ProcessEnv) =>
    loadProviderSettings('demo', DemoSettings, FIELDS, DEFAULTS, env);

  it('uses the defaults when nothing is set', () => {
    const settings = load({});
    expect(settings).toBeInstanceOf(DemoSettings);
    expect(settings).toEqual({ enabled: true, maxConcurrentSessions: 4 });
  });

  it('takes the variables over the file`s providers.<name> section over the defaults', () => {
    const file = configFile({
      providers: { demo: { base_url: 'http://file:1', max_concurrent_sessions: 7 } },
    });
    expect(load({ JELMORE_CONFIG: file })).toMatchObject({
      baseUrl: 'http://file:1',
      maxConcurrentSessions: 7,
    });
    expect(
      load({
        JELMORE_CONFIG: file,
        JELMORE_DEMO_BASE_URL: 'http://env:2',
        JELMORE_DEMO_ENABLED: 'off',
      }),
    ).toEqual({ enabled: false, baseUrl: 'http://env:2', maxConcurrentSessions: 7 });
  });

  it('names the variable or the file key of a bad value', () => {
    expect(() => load({ JELMORE_DEMO_MAX_SESSIONS: 'lots' })).toThrow(
      new ProviderSettingsError(
        'Invalid configuration: JELMORE_DEMO_MAX_SESSIONS must be an integer number (got "lots")',
      ),
    );
    const file = configFile({ providers: { demo: { base_url: 'not a url' } } });
    expect(() => load({ JELMORE_CONFIG: file })).toThrow(
      `Invalid configuration: ${file}: providers.demo.base_url must be a URL address (got "not a url")`,
    );
  });

  it('refuses a providers.<name> section that is not an object', () => {
    const file = configFile({ providers: { demo: 3 } });
    expect(() => load({ JELMORE_CONFIG: file })).toThrow(
      `Invalid configuration: ${file}: providers.demo must be an object`,
    );
  });
});
