import { hostname } from 'node:os';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { ConfigError, keyDigest, loadConfig } from './jelmore.config';

/** The ConfigError loadConfig throws for env, with its message. */
function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('loadConfig did not throw');
}

function expectOneLine(message: string): void {
  expect(message).not.toMatch(/[\r\n]/);
  expect(message.length).toBeGreaterThan(0);
}

describe('loadConfig', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-config-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function configFile(content: unknown, name = 'jelmore.json'): string {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  describe('defaults', () => {
    it('listens on port 3000 with the claude provider and its defaults', () => {
      const config = loadConfig({});

      expect(config.port).toBe(3000);
      expect(config.host).toBe('127.0.0.1');
      expect(config.defaultProvider).toBe('claude');
      expect(config.claude).toMatchObject({
        enabled: true,
        defaultModel: 'sonnet',
        maxConcurrentSessions: 10,
        permissionMode: 'acceptEdits',
      });
      expect(config.claude.bin).toBeUndefined();
    });

    it('makes dataDir and workspaceRoot absolute', () => {
      const config = loadConfig({});

      expect(isAbsolute(config.dataDir)).toBe(true);
      expect(config.dataDir).toBe(resolve('data'));
      expect(isAbsolute(config.workspaceRoot)).toBe(true);
      expect(config.workspaceRoot).toBe(resolve('workspace'));
    });

    it('keeps the SQLite database under the data dir', () => {
      const config = loadConfig({});
      expect(config.databaseUrl).toMatch(/^sqlite:/);
      expect(resolve(config.databaseUrl.slice('sqlite:'.length))).toBe(
        join(config.dataDir, 'jelmore.db'),
      );

      const moved = loadConfig({ JELMORE_DATA_DIR: dir });
      expect(moved.dataDir).toBe(dir);
      expect(moved.databaseUrl).toBe(`sqlite:${dir}/jelmore.db`);
    });
  });

  describe('environment', () => {
    it('takes JELMORE_PORT and JELMORE_CLAUDE_BIN', () => {
      const config = loadConfig({ JELMORE_PORT: '4000', JELMORE_CLAUDE_BIN: '/opt/claude/bin' });
      expect(config.port).toBe(4000);
      expect(config.claude.bin).toBe('/opt/claude/bin');
    });

    it('parses booleans, integers and lists', () => {
      const config = loadConfig({
        JELMORE_CLAUDE_ENABLED: 'off',
        JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '2',
        JELMORE_CLAUDE_ALLOWED_TOOLS: 'Bash, Read,,',
        JELMORE_CLAUDE_PERMISSION_MODE: 'plan',
      });
      expect(config.claude.enabled).toBe(false);
      expect(config.claude.maxConcurrentSessions).toBe(2);
      expect(config.claude.allowedTools).toEqual(['Bash', 'Read']);
      expect(config.claude.permissionMode).toBe('plan');
    });

    it('keeps no warm Claude processes unless asked to', () => {
      expect(loadConfig({}).claude.warmPoolSize).toBe(0);
      expect(loadConfig({ JELMORE_CLAUDE_WARM_POOL_SIZE: '2' }).claude.warmPoolSize).toBe(2);
    });

    it('denies unanswered permission requests after 300 s, or JELMORE_PERMISSION_TIMEOUT_SECONDS', () => {
      expect(loadConfig({}).permissionTimeoutSeconds).toBe(300);
      expect(loadConfig({ JELMORE_PERMISSION_TIMEOUT_SECONDS: '5' }).permissionTimeoutSeconds).toBe(
        5,
      );
      expect(
        loadConfig({ JELMORE_CONFIG: configFile({ permission_timeout_seconds: 42 }) })
          .permissionTimeoutSeconds,
      ).toBe(42);
    });

    it('takes a PostgreSQL JELMORE_DATABASE_URL in either scheme', () => {
      for (const url of [
        'postgres://jelmore@db:5432/jelmore',
        'postgresql://db/jelmore?sslmode=require',
      ]) {
        expect(loadConfig({ JELMORE_DATABASE_URL: url }).databaseUrl).toBe(url);
      }
    });

    it('treats an empty variable as unset', () => {
      expect(loadConfig({ JELMORE_PORT: '' }).port).toBe(3000);
    });
  });

  describe('JSON file (JELMORE_CONFIG)', () => {
    const seed = {
      default_provider: 'claude',
      providers: { claude: { default_model: 'opus', max_concurrent_sessions: 3 } },
    };

    it('reads the snake_case keys of the seed', () => {
      const config = loadConfig({ JELMORE_CONFIG: configFile(seed) });
      expect(config.defaultProvider).toBe('claude');
      expect(config.claude.defaultModel).toBe('opus');
      expect(config.claude.maxConcurrentSessions).toBe(3);
      // Keys the file leaves out keep their defaults.
      expect(config.port).toBe(3000);
      expect(config.claude.permissionMode).toBe('acceptEdits');
    });

    it('reads top-level keys and claude_bin', () => {
      const config = loadConfig({
        JELMORE_CONFIG: configFile({
          port: 5000,
          session_ttl_seconds: 60,
          providers: { claude: { claude_bin: '/usr/local/bin/claude' } },
        }),
      });
      expect(config.port).toBe(5000);
      expect(config.sessionTtlSeconds).toBe(60);
      expect(config.claude.bin).toBe('/usr/local/bin/claude');
    });

    it('lets the environment win over the file', () => {
      const config = loadConfig({
        JELMORE_CONFIG: configFile({ ...seed, port: 5000 }),
        JELMORE_PORT: '4000',
        JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '7',
      });
      expect(config.port).toBe(4000);
      expect(config.claude.maxConcurrentSessions).toBe(7);
      expect(config.claude.defaultModel).toBe('opus');
    });
  });

  describe('opencode', () => {
    const opencodeIds = [
      'deepseek-chat',
      'deepseek-v3',
      'deepseek',
      'kimi-k2-0905-preview',
      'kimi-k2',
      'kimi',
      'qwen2.5-coder-32b-instruct',
      'qwen-2.5-coder',
      'qwen',
    ];

    it('defaults: enabled, DeepSeek V3, 20 sessions, no endpoint, URL or key, no overrides', () => {
      const { opencode } = loadConfig({});
      expect(opencode).toMatchObject({
        enabled: true,
        defaultModel: 'deepseek-v3',
        maxConcurrentSessions: 20,
        models: {},
      });
      expect(opencode.baseUrl).toBeUndefined();
      expect(opencode.apiKey).toBeUndefined();
      expect(opencode.apiEndpoint).toBeUndefined();
      expect(opencode.bin).toBeUndefined();
    });

    it('takes the base URL, key, API endpoint and default model from the environment', () => {
      const { opencode } = loadConfig({
        JELMORE_OPENCODE_BASE_URL: 'https://api.deepseek.com/v1',
        JELMORE_OPENCODE_API_KEY: 'sk-env-key',
        JELMORE_OPENCODE_API_ENDPOINT: 'http://127.0.0.1:4096',
        JELMORE_OPENCODE_DEFAULT_MODEL: 'kimi-k2',
      });
      expect(opencode.baseUrl).toBe('https://api.deepseek.com/v1');
      expect(opencode.apiKey).toBe('sk-env-key');
      expect(opencode.apiEndpoint).toBe('http://127.0.0.1:4096');
      expect(opencode.defaultModel).toBe('kimi-k2');
    });

    it('takes the other opencode variables: enabled, bin, max sessions', () => {
      const { opencode } = loadConfig({
        JELMORE_OPENCODE_ENABLED: 'false',
        JELMORE_OPENCODE_BIN: '/opt/opencode/bin/opencode',
        JELMORE_OPENCODE_MAX_CONCURRENT_SESSIONS: '3',
      });
      expect(opencode.enabled).toBe(false);
      expect(opencode.bin).toBe('/opt/opencode/bin/opencode');
      expect(opencode.maxConcurrentSessions).toBe(3);
    });

    it.each(opencodeIds)('accepts %s as the default model', (model) => {
      expect(loadConfig({ JELMORE_OPENCODE_DEFAULT_MODEL: model }).opencode.defaultModel).toBe(
        model,
      );
    });

    it('reads providers.opencode from the file, models camelCased', () => {
      const { opencode } = loadConfig({
        JELMORE_CONFIG: configFile({
          providers: {
            opencode: {
              enabled: false,
              api_endpoint: 'http://localhost:4096',
              opencode_bin: '/usr/local/bin/opencode',
              base_url: 'http://localhost:8080/v1',
              default_model: 'kimi',
              max_concurrent_sessions: 5,
              models: {
                'deepseek-chat': { id: 'deepseek/deepseek-chat', input_price_per_mtok: 0.5 },
                'qwen2.5-coder-32b-instruct': {
                  context_window: 131072,
                  output_price_per_mtok: 0,
                },
              },
            },
          },
        }),
      });
      expect(opencode).toMatchObject({
        enabled: false,
        apiEndpoint: 'http://localhost:4096',
        bin: '/usr/local/bin/opencode',
        baseUrl: 'http://localhost:8080/v1',
        defaultModel: 'kimi',
        maxConcurrentSessions: 5,
      });
      expect(opencode.models).toEqual({
        'deepseek-chat': { id: 'deepseek/deepseek-chat', inputPricePerMTok: 0.5 },
        'qwen2.5-coder-32b-instruct': { contextWindow: 131072, outputPricePerMTok: 0 },
      });
    });

    it('accepts the overriding id, and the old id, as the default model', () => {
      const models = { 'deepseek-chat': { id: 'deepseek/deepseek-chat' } };
      for (const model of ['deepseek/deepseek-chat', 'deepseek-chat', 'deepseek-v3']) {
        const path = configFile({ providers: { opencode: { default_model: model, models } } });
        expect(loadConfig({ JELMORE_CONFIG: path }).opencode.defaultModel).toBe(model);
      }
    });

    it('never reads an API key from the file, only from the environment', () => {
      const path = configFile({ providers: { opencode: { api_key: 'sk-from-file' } } });
      expect(loadConfig({ JELMORE_CONFIG: path }).opencode.apiKey).toBeUndefined();
      expect(
        loadConfig({ JELMORE_CONFIG: path, JELMORE_OPENCODE_API_KEY: 'sk-env' }).opencode.apiKey,
      ).toBe('sk-env');
    });

    it('lets the environment win over the file', () => {
      const { opencode } = loadConfig({
        JELMORE_CONFIG: configFile({
          providers: {
            opencode: { base_url: 'http://file:8080/v1', default_model: 'qwen' },
          },
        }),
        JELMORE_OPENCODE_BASE_URL: 'http://env:8080/v1',
        JELMORE_OPENCODE_DEFAULT_MODEL: 'kimi-k2',
      });
      expect(opencode.baseUrl).toBe('http://env:8080/v1');
      expect(opencode.defaultModel).toBe('kimi-k2');
    });

    it('accepts JELMORE_DEFAULT_PROVIDER=opencode and rejects an unknown provider', () => {
      expect(loadConfig({ JELMORE_DEFAULT_PROVIDER: 'opencode' }).defaultProvider).toBe('opencode');
      const { message } = configError({ JELMORE_DEFAULT_PROVIDER: 'nope' });
      expect(message).toContain('JELMORE_DEFAULT_PROVIDER');
      expect(message).toContain('"nope"');
      expectOneLine(message);
    });

    describe('errors: one line naming the key', () => {
      it('a base URL that is not a URL', () => {
        const { message } = configError({ JELMORE_OPENCODE_BASE_URL: 'not a url' });
        expect(message).toContain('JELMORE_OPENCODE_BASE_URL');
        expect(message).toContain('"not a url"');
        expectOneLine(message);
      });

      it('a base URL in the file that is not http(s)', () => {
        const path = configFile({ providers: { opencode: { base_url: 'ftp://example.com/v1' } } });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(`${path}: providers.opencode.base_url`);
        expectOneLine(message);
      });

      it('an API endpoint that is not a URL', () => {
        const { message } = configError({ JELMORE_OPENCODE_API_ENDPOINT: 'http://' });
        expect(message).toContain('JELMORE_OPENCODE_API_ENDPOINT');
        expect(message).toContain('"http://"');
        expectOneLine(message);
      });

      // A bare host would pass as a URL and fail later inside fetch, far from the configuration.
      it.each([
        ['JELMORE_OPENCODE_API_ENDPOINT', 'localhost:4096'],
        ['JELMORE_OPENCODE_BASE_URL', 'api.deepseek.com/v1'],
      ])('%s without a scheme (%s) is rejected at boot', (name, value) => {
        const { message } = configError({ [name]: value });
        expect(message).toContain(name);
        expectOneLine(message);
      });

      it('an unknown default model, listing the valid ids and aliases', () => {
        const { message } = configError({ JELMORE_OPENCODE_DEFAULT_MODEL: 'gpt-4o' });
        expect(message).toContain('JELMORE_OPENCODE_DEFAULT_MODEL must be one of');
        expect(message).toContain('"gpt-4o"');
        for (const id of opencodeIds) expect(message).toContain(id);
        expectOneLine(message);
      });

      it('an unknown default model in the file names its key', () => {
        const path = configFile({ providers: { opencode: { default_model: 'sonnet' } } });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(`${path}: providers.opencode.default_model must be one of`);
        expect(message).toContain('"sonnet"');
        expectOneLine(message);
      });

      it('a bad max_concurrent_sessions', () => {
        const { message } = configError({ JELMORE_OPENCODE_MAX_CONCURRENT_SESSIONS: '0' });
        expect(message).toContain('JELMORE_OPENCODE_MAX_CONCURRENT_SESSIONS');
        expectOneLine(message);
      });

      it('a models entry for a model opencode does not serve', () => {
        const path = configFile({
          providers: { opencode: { models: { 'gpt-4o': { input_price_per_mtok: 1 } } } },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(`${path}: providers.opencode.models.gpt-4o is not a known model`);
        expect(message).toContain(
          'deepseek-chat, kimi-k2-0905-preview, qwen2.5-coder-32b-instruct',
        );
        expectOneLine(message);
      });

      it('a models entry keyed by an alias rather than the canonical id', () => {
        const path = configFile({
          providers: { opencode: { models: { 'deepseek-v3': { input_price_per_mtok: 1 } } } },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain('providers.opencode.models.deepseek-v3 is not a known model');
        expectOneLine(message);
      });

      it.each([
        ['a negative price', 'input_price_per_mtok', -1, 'must be a non-negative number'],
        [
          'a price given as a string',
          'output_price_per_mtok',
          '0.5',
          'must be a non-negative number',
        ],
        [
          'a context window given as a string',
          'context_window',
          'big',
          'must be a non-negative number',
        ],
        ['an empty id', 'id', '', 'must be a non-empty string'],
        ['an id that is not a string', 'id', 42, 'must be a non-empty string'],
        [
          'an unknown field',
          'price',
          'cheap',
          'is not one of id, context_window, input_price_per_mtok, output_price_per_mtok',
        ],
      ])('a models field with %s', (_name, field, value, expected) => {
        const path = configFile({
          providers: { opencode: { models: { 'deepseek-chat': { [field]: value } } } },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(
          `${path}: providers.opencode.models.deepseek-chat.${field} ${expected}`,
        );
        expect(message).toContain(`(got ${JSON.stringify(value)})`);
        expectOneLine(message);
      });

      // A misspelt price field must not be silently ignored.
      it('a misspelt models field with a number value is rejected', () => {
        const path = configFile({
          providers: {
            opencode: { models: { 'deepseek-chat': { input_price_per_mtoken: 0.5 } } },
          },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(
          'providers.opencode.models.deepseek-chat.input_price_per_mtoken is not one of',
        );
        expectOneLine(message);
      });

      it.each([
        ['an array', []],
        ['a string', 'cheap'],
        ['null', null],
      ])('models holding %s', (_name, models) => {
        const path = configFile({ providers: { opencode: { models } } });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(`${path}: providers.opencode.models must be an object`);
        expectOneLine(message);
      });

      // Only an object can hold overrides.
      it.each([
        ['a number', 5],
        ['null', null],
        ['a string', 'cheap'],
      ])('a models entry holding %s is rejected, naming the entry', (_name, entry) => {
        const path = configFile({
          providers: { opencode: { models: { 'deepseek-chat': entry } } },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(`${path}: providers.opencode.models.deepseek-chat must be`);
        expectOneLine(message);
      });
    });
  });

  describe('shared workspace', () => {
    it('is none by default, and a folder of the workspace root when set, relative to the root', () => {
      expect(loadConfig({}).sharedWorkspace).toBeUndefined();
      const root = join(dir, 'ws');
      const config = (shared: string) =>
        loadConfig({ JELMORE_WORKSPACE_ROOT: root, JELMORE_SHARED_WORKSPACE: shared });
      expect(config('team').sharedWorkspace).toBe(join(root, 'team'));
      expect(config(join(root, 'a', 'b')).sharedWorkspace).toBe(join(root, 'a', 'b'));
      const fromFile = loadConfig({
        JELMORE_WORKSPACE_ROOT: root,
        JELMORE_CONFIG: configFile({ shared_workspace: 'team' }),
      });
      expect(fromFile.sharedWorkspace).toBe(join(root, 'team'));
    });

    it.each([['.'], ['..'], ['../elsewhere'], ['/etc']])(
      'must lie inside the workspace root, not be it: %s is refused',
      (shared) => {
        const { message } = configError({
          JELMORE_WORKSPACE_ROOT: join(dir, 'ws'),
          JELMORE_SHARED_WORKSPACE: shared,
        });
        expect(message).toContain(
          'JELMORE_SHARED_WORKSPACE must be a folder inside the workspace root',
        );
        expectOneLine(message);
      },
    );
  });

  describe('errors: one line naming the key', () => {
    it('JELMORE_PORT=abc', () => {
      const { message } = configError({ JELMORE_PORT: 'abc' });
      expect(message).toContain('JELMORE_PORT');
      expect(message).toContain('"abc"');
      expectOneLine(message);
    });

    it('JELMORE_PORT out of range', () => {
      const { message } = configError({ JELMORE_PORT: '70000' });
      expect(message).toContain('JELMORE_PORT');
      expectOneLine(message);
    });

    it('a port of the wrong JSON type is said to need an integer, not a smaller number', () => {
      const { message } = configError({ JELMORE_CONFIG: configFile({ port: '3000' }) });
      expect(message).toContain('port must be an integer');
      expectOneLine(message);
    });

    it('a default model Claude does not serve', () => {
      const { message } = configError({ JELMORE_CLAUDE_DEFAULT_MODEL: 'gpt-4o' });
      expect(message).toContain('JELMORE_CLAUDE_DEFAULT_MODEL must be a Claude model');
      expectOneLine(message);
    });

    it('a warm pool size that is negative or not a whole number', () => {
      for (const value of ['-1', 'two', '17']) {
        const { message } = configError({ JELMORE_CLAUDE_WARM_POOL_SIZE: value });
        expect(message).toContain('JELMORE_CLAUDE_WARM_POOL_SIZE');
        expectOneLine(message);
      }
    });

    it('a permission timeout that is not a whole number of seconds, at least 1', () => {
      for (const value of ['0', '-5', 'soon']) {
        const { message } = configError({ JELMORE_PERMISSION_TIMEOUT_SECONDS: value });
        expect(message).toContain('JELMORE_PERMISSION_TIMEOUT_SECONDS');
        expectOneLine(message);
      }
    });

    it('JELMORE_CLAUDE_PERMISSION_MODE=yolo', () => {
      const { message } = configError({ JELMORE_CLAUDE_PERMISSION_MODE: 'yolo' });
      expect(message).toContain('JELMORE_CLAUDE_PERMISSION_MODE');
      expect(message).toContain('yolo');
      expectOneLine(message);
    });

    it('stays on one line when the bad value holds a newline', () => {
      const { message } = configError({ JELMORE_CLAUDE_PERMISSION_MODE: 'yo\nlo' });
      expect(message).toContain('JELMORE_CLAUDE_PERMISSION_MODE');
      expectOneLine(message);
    });

    it('a database URL of another kind names the key and both forms, never the password', () => {
      const { message } = configError({ JELMORE_DATABASE_URL: 'mysql://app:s3cret@db/jelmore' });
      expect(message).toContain(
        'JELMORE_DATABASE_URL must look like sqlite:<path> or postgres://[user[:password]@]host[:port]/database',
      );
      expect(message).toContain('mysql://app:***@db/jelmore');
      expect(message).not.toContain('s3cret');
      expectOneLine(message);
    });

    it('a bad boolean names its variable', () => {
      const { message } = configError({ JELMORE_CLAUDE_ENABLED: 'maybe' });
      expect(message).toContain('JELMORE_CLAUDE_ENABLED');
      expectOneLine(message);
    });

    it('a bad value in the file names the file and the key path', () => {
      const path = configFile({ providers: { claude: { max_concurrent_sessions: 0 } } });
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('providers.claude.max_concurrent_sessions');
      expect(message).toContain(path);
      expectOneLine(message);
    });

    it('a bad top-level value in the file names its key', () => {
      const path = configFile({ default_provider: 'gpt' });
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('default_provider');
      expect(message).toContain('"gpt"');
      expectOneLine(message);
    });

    it('a good env value hides a bad file value for the same key', () => {
      const path = configFile({ providers: { claude: { max_concurrent_sessions: 'many' } } });
      const config = loadConfig({
        JELMORE_CONFIG: path,
        JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '4',
      });
      expect(config.claude.maxConcurrentSessions).toBe(4);
    });

    it('a missing file', () => {
      const path = join(dir, 'absent.json');
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('JELMORE_CONFIG');
      expect(message).toContain(path);
      expectOneLine(message);
    });

    it('a directory instead of a file', () => {
      const { message } = configError({ JELMORE_CONFIG: dir });
      expect(message).toContain('JELMORE_CONFIG');
      expectOneLine(message);
    });

    it.each([
      ['not JSON', '{ port: 3000 '],
      ['an array', '[1, 2]'],
      ['null', 'null'],
      ['a string', '"port"'],
    ])('a file holding %s', (_name, content) => {
      const path = configFile(content);
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain('JELMORE_CONFIG');
      expect(message).toContain(path);
      expectOneLine(message);
    });
  });

  describe('rate limits', () => {
    it('defaults: 600 per key per 60 s window, no provider limited', () => {
      expect(loadConfig({})).toMatchObject({
        rateLimitPerMinute: 600,
        rateLimitWindowSeconds: 60,
        providerRateLimits: {},
      });
    });

    it('takes per-provider session rates from JELMORE_PROVIDER_RATE_LIMITS, and the window', () => {
      expect(
        loadConfig({
          JELMORE_PROVIDER_RATE_LIMITS: 'claude:30, opencode:60',
          JELMORE_RATE_LIMIT_WINDOW_SECONDS: '2',
        }),
      ).toMatchObject({
        providerRateLimits: { claude: 30, opencode: 60 },
        rateLimitWindowSeconds: 2,
      });
    });

    it('reads providers.<name>.sessions_per_minute from the file; the variable replaces them all', () => {
      const file = configFile({
        rate_limit_window_seconds: 30,
        providers: {
          claude: { sessions_per_minute: 5 },
          opencode: {},
          echo: { sessions_per_minute: 1 },
        },
      });
      expect(loadConfig({ JELMORE_CONFIG: file })).toMatchObject({
        providerRateLimits: { claude: 5, echo: 1 },
        rateLimitWindowSeconds: 30,
      });
      expect(
        loadConfig({ JELMORE_CONFIG: file, JELMORE_PROVIDER_RATE_LIMITS: 'opencode:9' })
          .providerRateLimits,
      ).toEqual({ opencode: 9 });
    });

    it.each(['claude', 'claude:', 'claude:-1', 'claude:1.5', ':3', 'claude:3:x'])(
      'rejects the entry %j, naming the variable and the form',
      (entry) => {
        const { message } = configError({ JELMORE_PROVIDER_RATE_LIMITS: entry });
        expect(message).toContain(`JELMORE_PROVIDER_RATE_LIMITS entry '${entry}'`);
        expect(message).toContain('<provider>:<sessions per minute>');
        expectOneLine(message);
      },
    );

    it('rejects a zero rate, and a bad one in the file, naming where it is', () => {
      expect(configError({ JELMORE_PROVIDER_RATE_LIMITS: 'claude:0' }).message).toContain(
        "JELMORE_PROVIDER_RATE_LIMITS entry 'claude:0' must be a whole number of sessions per minute, at least 1 (got 0)",
      );
      const file = configFile({ providers: { claude: { sessions_per_minute: '30' } } });
      const { message } = configError({ JELMORE_CONFIG: file });
      expect(message).toBe(
        `Invalid configuration: ${file}: providers.claude.sessions_per_minute must be a whole number of sessions per minute, at least 1 (got "30")`,
      );
    });

    it('rejects a window below one second', () => {
      expect(configError({ JELMORE_RATE_LIMIT_WINDOW_SECONDS: '0' }).message).toContain(
        'JELMORE_RATE_LIMIT_WINDOW_SECONDS',
      );
    });

    it('allows 20 failed authentications per address per window, or JELMORE_AUTH_FAILURE_LIMIT', () => {
      expect(loadConfig({}).authFailureLimit).toBe(20);
      expect(loadConfig({ JELMORE_AUTH_FAILURE_LIMIT: '5' }).authFailureLimit).toBe(5);
      expect(loadConfig({ JELMORE_CONFIG: configFile({ auth_failure_limit: 7 }) })).toMatchObject({
        authFailureLimit: 7,
      });
      expect(configError({ JELMORE_AUTH_FAILURE_LIMIT: '0' }).message).toContain(
        'JELMORE_AUTH_FAILURE_LIMIT',
      );
    });

    it('trusts no proxy by default; JELMORE_TRUST_PROXY or trust_proxy name them, checked', () => {
      expect(loadConfig({}).trustProxy).toBeUndefined();
      expect(loadConfig({ JELMORE_TRUST_PROXY: '1' }).trustProxy).toBe(1);
      expect(loadConfig({ JELMORE_TRUST_PROXY: 'loopback,10.0.0.0/8' }).trustProxy).toEqual([
        'loopback',
        '10.0.0.0/8',
      ]);
      expect(
        loadConfig({ JELMORE_CONFIG: configFile({ trust_proxy: ['uniquelocal'] }) }).trustProxy,
      ).toEqual(['uniquelocal']);
      expect(configError({ JELMORE_TRUST_PROXY: 'everyone' }).message).toBe(
        'Invalid configuration: JELMORE_TRUST_PROXY must be a hop count or comma-separated addresses, CIDRs or loopback, linklocal, uniquelocal (got "everyone")',
      );
    });

    it('keeps API keys as digests, also from an owner-only JELMORE_API_KEYS_FILE', () => {
      const dir = mkdtempSync(join(tmpdir(), 'jelmore-keys-'));
      try {
        const file = join(dir, 'keys');
        writeFileSync(
          file,
          '# tenants\nalice:alice-key-0123456789\nops:ops-key-0123456789:admin\n',
          {
            mode: 0o600,
          },
        );
        const config = loadConfig({
          JELMORE_API_KEYS: 'bob:bob-key-0123456789ab',
          JELMORE_API_KEYS_FILE: file,
        });
        expect(config.apiKeys.map((k) => [k.id, k.admin])).toEqual([
          ['bob', false],
          ['alice', false],
          ['ops', true],
        ]);
        expect(JSON.stringify(config)).not.toContain('alice-key-0123456789');
        expect(config.apiKeys[1].digest).toBe(keyDigest('alice-key-0123456789'));
        // Hidden from agents' sandboxes, like the config file.
        expect(config.secretFiles).toContain(file);
        chmodSync(file, 0o644);
        expect(configError({ JELMORE_API_KEYS_FILE: file }).message).toBe(
          `Invalid configuration: JELMORE_API_KEYS_FILE ${file} must be readable by its owner only (chmod 600; it is 644)`,
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('sandboxes agents with bubblewrap and the host network unless told otherwise', () => {
      expect(loadConfig({})).toMatchObject({ agentSandbox: 'bwrap', agentNetwork: 'host' });
      expect(
        loadConfig({ JELMORE_AGENT_SANDBOX: 'off', JELMORE_AGENT_NETWORK: 'none' }),
      ).toMatchObject({ agentSandbox: 'off', agentNetwork: 'none' });
      expect(configError({ JELMORE_AGENT_SANDBOX: 'docker' }).message).toContain(
        'JELMORE_AGENT_SANDBOX',
      );
    });
  });

  describe('nats', () => {
    it('is off by default, with the default stream and queue bound', () => {
      const config = loadConfig({});
      expect(config.natsUrl).toBeUndefined();
      expect(config.natsStream).toBe('JELMORE_SESSIONS');
      expect(config.natsMaxPending).toBe(50_000);
    });

    it('takes the URL, stream and bound from the environment, or the file', () => {
      expect(
        loadConfig({
          JELMORE_NATS_URL: 'nats://nats.default.svc:4222',
          JELMORE_NATS_STREAM: 'EVENTS-2',
          JELMORE_NATS_MAX_PENDING: '10',
        }),
      ).toMatchObject({
        natsUrl: 'nats://nats.default.svc:4222',
        natsStream: 'EVENTS-2',
        natsMaxPending: 10,
      });
      const file = configFile({
        nats_url: 'nats://[::1]:4222',
        nats_stream: 'S',
        nats_max_pending: 5,
      });
      expect(loadConfig({ JELMORE_CONFIG: file })).toMatchObject({
        natsUrl: 'nats://[::1]:4222',
        natsStream: 'S',
        natsMaxPending: 5,
      });
    });

    it.each([
      ['no port', 'nats://127.0.0.1'],
      ['another scheme', 'http://127.0.0.1:4222'],
      ['a port out of range', 'nats://127.0.0.1:65536'],
      ['a path', 'nats://127.0.0.1:4222/x'],
      ['no scheme', '127.0.0.1:4222'],
    ])('rejects a URL with %s, naming JELMORE_NATS_URL', (_name, url) => {
      const { message } = configError({ JELMORE_NATS_URL: url });
      expect(message).toContain('JELMORE_NATS_URL must look like nats://host:port');
      expectOneLine(message);
    });

    it('rejects a stream name NATS would refuse and a bound below 1', () => {
      expect(configError({ JELMORE_NATS_STREAM: 'a.b' }).message).toContain('JELMORE_NATS_STREAM');
      expect(configError({ JELMORE_NATS_MAX_PENDING: '0' }).message).toContain(
        'JELMORE_NATS_MAX_PENDING',
      );
    });
  });

  describe('cluster', () => {
    it('is single-node by default, with a node id from the host and port, a lease and a grace period', () => {
      const config = loadConfig({ JELMORE_PORT: '4010' });
      expect(config.redisUrl).toBeUndefined();
      expect(config.nodeId).toBe(`${hostname()}-4010`);
      expect(config.nodeLeaseSeconds).toBe(15);
      expect(config.shutdownGraceSeconds).toBe(25);
    });

    it('takes the Redis URL, node id, lease and grace from the environment', () => {
      const config = loadConfig({
        JELMORE_REDIS_URL: 'redis://127.0.0.1:6379/2',
        JELMORE_NODE_ID: 'pod-a.1',
        JELMORE_NODE_LEASE_SECONDS: '5',
        JELMORE_SHUTDOWN_GRACE_SECONDS: '40',
      });
      expect(config).toMatchObject({
        redisUrl: 'redis://127.0.0.1:6379/2',
        nodeId: 'pod-a.1',
        nodeLeaseSeconds: 5,
        shutdownGraceSeconds: 40,
      });
    });

    it.each([
      ['JELMORE_REDIS_URL', 'http://127.0.0.1:6379', 'must look like redis://host:port'],
      ['JELMORE_NODE_ID', 'a node', 'must be letters, digits'],
      ['JELMORE_NODE_LEASE_SECONDS', '2', 'JELMORE_NODE_LEASE_SECONDS'],
      ['JELMORE_SHUTDOWN_GRACE_SECONDS', '0', 'JELMORE_SHUTDOWN_GRACE_SECONDS'],
    ])('rejects a bad %s in one line naming it', (key, value, expected) => {
      const { message } = configError({ [key]: value });
      expect(message).toContain(key);
      expect(message).toContain(expected);
      expectOneLine(message);
    });
  });
});
