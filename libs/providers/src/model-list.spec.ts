import { listedModel, parseModelList } from './model-list';
import { ProviderSettingsError } from './provider-settings';

const WHERE = '/etc/jelmore.json: providers.opencode.models';

function refusal(entries: unknown): string {
  try {
    parseModelList(entries, 'opencode', WHERE);
  } catch (err) {
    expect(err).toBeInstanceOf(ProviderSettingsError);
    return (err as Error).message;
  }
  throw new Error('parseModelList accepted the list');
}

describe('parseModelList', () => {
  it('reads every key, and fills prices with 0 and the context window with 128000', () => {
    expect(
      parseModelList(
        [
          {
            id: 'qwen2.5-coder:7b',
            name: 'Qwen 2.5 Coder 7B',
            aliases: ['qwen-local'],
            context_window: 32_768,
            max_output: 4096,
            input_price_per_mtok: 0.1,
            output_price_per_mtok: 0.2,
          },
          { id: 'llama3.1:8b' },
        ],
        'opencode',
        WHERE,
      ),
    ).toEqual([
      {
        id: 'qwen2.5-coder:7b',
        name: 'Qwen 2.5 Coder 7B',
        aliases: ['qwen-local'],
        provider: 'opencode',
        contextWindow: 32_768,
        maxOutputTokens: 4096,
        inputPricePerMTok: 0.1,
        outputPricePerMTok: 0.2,
      },
      {
        id: 'llama3.1:8b',
        aliases: [],
        provider: 'opencode',
        contextWindow: 128_000,
        inputPricePerMTok: 0,
        outputPricePerMTok: 0,
      },
    ]);
  });

  it('lists a model without the agent-only fields', () => {
    const [model] = parseModelList([{ id: 'm', name: 'M', max_output: 1000 }], 'opencode', WHERE);
    expect(listedModel(model)).toEqual({
      id: 'm',
      aliases: [],
      provider: 'opencode',
      contextWindow: 128_000,
      inputPricePerMTok: 0,
      outputPricePerMTok: 0,
    });
  });

  it.each([
    ['not a list', { m: {} }, `${WHERE} must be a list of models`],
    ['an entry that is not an object', ['m'], `${WHERE}[0] must be an object`],
    ['an entry without an id', [{ name: 'M' }], `${WHERE}[0].id must be a non-empty string`],
    ['an empty id', [{ id: '' }], `${WHERE}[0].id must be a non-empty string`],
    ['an id that is not a string', [{ id: 7 }], `${WHERE}[0].id must be a non-empty string`],
    [
      'a negative price',
      [{ id: 'a' }, { id: 'b', input_price_per_mtok: -0.5 }],
      `${WHERE}[1].input_price_per_mtok must be a price in USD, 0 or more (got -0.5)`,
    ],
    [
      'a price given as a string',
      [{ id: 'a', output_price_per_mtok: '0' }],
      `${WHERE}[0].output_price_per_mtok must be a price in USD, 0 or more (got "0")`,
    ],
    [
      'a fractional context window',
      [{ id: 'a', context_window: 1.5 }],
      `${WHERE}[0].context_window must be a whole number of tokens (got 1.5)`,
    ],
    [
      'a max_output of 0',
      [{ id: 'a', max_output: 0 }],
      `${WHERE}[0].max_output must be a whole number of tokens (got 0)`,
    ],
    [
      'an empty name',
      [{ id: 'a', name: '' }],
      `${WHERE}[0].name must be a non-empty string (got "")`,
    ],
    [
      'aliases not a list',
      [{ id: 'a', aliases: 'b' }],
      `${WHERE}[0].aliases must be a list of names`,
    ],
    [
      'a duplicate id',
      [{ id: 'qwen2.5-coder:7b' }, { id: 'qwen2.5-coder:7b' }],
      `${WHERE}[1]: 'qwen2.5-coder:7b' names two models`,
    ],
    [
      'an alias that is another model’s id',
      [{ id: 'a' }, { id: 'b', aliases: ['a'] }],
      `${WHERE}[1]: 'a' names two models`,
    ],
    [
      'an unknown key',
      [{ id: 'a', price: 1 }],
      `${WHERE}[0].price is not a key of a model (id, name, aliases, context_window, max_output, input_price_per_mtok, output_price_per_mtok)`,
    ],
  ])('refuses %s, in one line naming the entry', (_, entries, message) => {
    const error = refusal(entries);
    expect(error).toBe(`Invalid configuration: ${message}`);
    expect(error).not.toContain('\n');
  });
});
