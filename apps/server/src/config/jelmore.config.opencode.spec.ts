import { loadConfig } from './jelmore.config';
import { configError, expectOneLine, withConfigDir } from './jelmore.config.spec-helpers';

// The built-in opencode provider's section: its variables, `providers.opencode` and its models.
describe('loadConfig', () => {
  const configFile = withConfigDir();

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

      it('a models override for a model that is not built in, pointing at the list shape', () => {
        const path = configFile({
          providers: { opencode: { models: { 'gpt-4o': { input_price_per_mtok: 1 } } } },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(
          `${path}: providers.opencode.models.gpt-4o is not a built-in model (deepseek-chat, kimi-k2-0905-preview, qwen2.5-coder-32b-instruct): to serve other models, make the models a list, [{"id": "gpt-4o"}]`,
        );
        expectOneLine(message);
      });

      it('a models entry keyed by an alias rather than the canonical id', () => {
        const path = configFile({
          providers: { opencode: { models: { 'deepseek-v3': { input_price_per_mtok: 1 } } } },
        });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain('providers.opencode.models.deepseek-v3 is not a built-in model');
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
        ['a number', 5],
        ['a string', 'cheap'],
        ['null', null],
      ])('models holding %s', (_name, models) => {
        const path = configFile({ providers: { opencode: { models } } });
        const { message } = configError({ JELMORE_CONFIG: path });
        expect(message).toContain(
          `${path}: providers.opencode.models must be a list of models, or an object of overrides keyed by built-in model id`,
        );
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
});
