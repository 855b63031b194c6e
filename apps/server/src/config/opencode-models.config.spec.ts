import { opencodeModels } from '@jelmore/providers';
import { loadConfig } from './jelmore.config';
import { configError, expectOneLine, withConfigDir } from './jelmore.config.spec-helpers';

// `providers.opencode.models` as a list: a local server's own models instead of the built-in ones.
describe('loadConfig: providers.opencode.models as a list', () => {
  const configFile = withConfigDir();
  const withModels = (models: unknown, opencode: object = {}) =>
    configFile({ providers: { opencode: { models, ...opencode } } });

  const OLLAMA = [
    {
      id: 'qwen2.5-coder:7b',
      name: 'Qwen 2.5 Coder 7B',
      aliases: ['qwen-local'],
      context_window: 32768,
      max_output: 4096,
    },
    { id: 'llama3.1:8b', input_price_per_mtok: 0.01, output_price_per_mtok: 0.02 },
  ];

  it('replaces the built-in models, prices 0 unless given, the first the default', () => {
    const { opencode } = loadConfig({ JELMORE_CONFIG: withModels(OLLAMA) });
    expect(opencodeModels(opencode.models)).toEqual([
      {
        id: 'qwen2.5-coder:7b',
        name: 'Qwen 2.5 Coder 7B',
        aliases: ['qwen-local'],
        provider: 'opencode',
        contextWindow: 32768,
        maxOutputTokens: 4096,
        inputPricePerMTok: 0,
        outputPricePerMTok: 0,
      },
      {
        id: 'llama3.1:8b',
        aliases: [],
        provider: 'opencode',
        contextWindow: 128_000,
        inputPricePerMTok: 0.01,
        outputPricePerMTok: 0.02,
      },
    ]);
    // deepseek-v3, the built-in default, is not among them: the list's first model takes its place.
    expect(opencode.defaultModel).toBe('qwen2.5-coder:7b');
  });

  it('takes a default model named in the file or the environment, by id or alias', () => {
    const path = withModels(OLLAMA, { default_model: 'llama3.1:8b' });
    expect(loadConfig({ JELMORE_CONFIG: path }).opencode.defaultModel).toBe('llama3.1:8b');
    expect(
      loadConfig({ JELMORE_CONFIG: path, JELMORE_OPENCODE_DEFAULT_MODEL: 'qwen-local' }).opencode
        .defaultModel,
    ).toBe('qwen-local');
  });

  it('may list a built-in id too, with its own values', () => {
    const path = withModels([{ id: 'deepseek-chat' }]);
    const { opencode } = loadConfig({ JELMORE_CONFIG: path });
    expect(opencodeModels(opencode.models)).toEqual([
      expect.objectContaining({ id: 'deepseek-chat', aliases: [], inputPricePerMTok: 0 }),
    ]);
  });

  describe('errors: one line naming the key', () => {
    it('a default model not in the list (the environment’s)', () => {
      const path = withModels(OLLAMA);
      const { message } = configError({
        JELMORE_CONFIG: path,
        JELMORE_OPENCODE_DEFAULT_MODEL: 'deepseek-v3',
      });
      expect(message).toBe(
        'Invalid configuration: JELMORE_OPENCODE_DEFAULT_MODEL must be one of qwen2.5-coder:7b, qwen-local, llama3.1:8b (got "deepseek-v3")',
      );
    });

    it('a default model not in the list (the file’s)', () => {
      const path = withModels(OLLAMA, { default_model: 'qwen2.5-coder:14b' });
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toContain(`${path}: providers.opencode.default_model must be one of`);
      expect(message).toContain('"qwen2.5-coder:14b"');
      expectOneLine(message);
    });

    it.each([
      ['an entry without an id', [{ name: 'Qwen' }], '[0].id must be a non-empty string'],
      [
        'a negative price',
        [{ id: 'a', output_price_per_mtok: -1 }],
        '[0].output_price_per_mtok must be a price in USD, 0 or more (got -1)',
      ],
      ['a duplicate id', [{ id: 'a' }, { id: 'a' }], "[1]: 'a' names two models"],
      [
        'a context window that is not a whole number',
        [{ id: 'a', context_window: '32k' }],
        '[0].context_window must be a whole number of tokens (got "32k")',
      ],
      ['an entry that is a string', ['qwen2.5-coder:7b'], '[0] must be an object'],
    ])('%s', (_name, models, expected) => {
      const path = withModels(models);
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toBe(`Invalid configuration: ${path}: providers.opencode.models${expected}`);
      expectOneLine(message);
    });

    it('an empty list', () => {
      const path = withModels([]);
      const { message } = configError({ JELMORE_CONFIG: path });
      expect(message).toBe(
        `Invalid configuration: ${path}: providers.opencode.models must list at least one model (leave it out for the built-in ones)`,
      );
    });
  });
});
