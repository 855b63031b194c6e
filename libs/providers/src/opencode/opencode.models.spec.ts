import type { ModelInfo } from '@jelmore/contracts';
import { costUsd, opencodeModels } from './opencode.models';

function byId(models: ModelInfo[], id: string): ModelInfo {
  const model = models.find((m) => m.id === id);
  if (!model) throw new Error(`no model ${id} in ${models.map((m) => m.id).join(', ')}`);
  return model;
}

describe('opencodeModels', () => {
  it('lists DeepSeek V3, Kimi K2 and Qwen 2.5 Coder with their aliases and list prices', () => {
    expect(opencodeModels({})).toEqual([
      {
        id: 'deepseek-chat',
        aliases: ['deepseek-v3', 'deepseek'],
        provider: 'opencode',
        contextWindow: 128_000,
        inputPricePerMTok: 0.27,
        outputPricePerMTok: 1.1,
      },
      {
        id: 'kimi-k2-0905-preview',
        aliases: ['kimi-k2', 'kimi'],
        provider: 'opencode',
        contextWindow: 262_144,
        inputPricePerMTok: 0.6,
        outputPricePerMTok: 2.5,
      },
      {
        id: 'qwen2.5-coder-32b-instruct',
        aliases: ['qwen-2.5-coder', 'qwen'],
        provider: 'opencode',
        contextWindow: 32_768,
        inputPricePerMTok: 0.2,
        outputPricePerMTok: 0.6,
      },
    ]);
  });

  it('gives every model a unique id and aliases no other model uses', () => {
    const names = opencodeModels({}).flatMap((m) => [m.id, ...m.aliases]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('makes an overriding id canonical and keeps the old id as the first alias', () => {
    const models = opencodeModels({ 'deepseek-chat': { id: 'deepseek/deepseek-chat' } });
    expect(models.map((m) => m.id)).toEqual([
      'deepseek/deepseek-chat',
      'kimi-k2-0905-preview',
      'qwen2.5-coder-32b-instruct',
    ]);
    expect(byId(models, 'deepseek/deepseek-chat')).toEqual({
      id: 'deepseek/deepseek-chat',
      aliases: ['deepseek-chat', 'deepseek-v3', 'deepseek'],
      provider: 'opencode',
      contextWindow: 128_000,
      inputPricePerMTok: 0.27,
      outputPricePerMTok: 1.1,
    });
  });

  it('does not repeat the id among the aliases when the override names the same id', () => {
    const model = byId(
      opencodeModels({ 'kimi-k2-0905-preview': { id: 'kimi-k2-0905-preview' } }),
      'kimi-k2-0905-preview',
    );
    expect(model.aliases).toEqual(['kimi-k2', 'kimi']);
  });

  it('overrides prices and the context window, keeping the id and aliases', () => {
    const models = opencodeModels({
      'qwen2.5-coder-32b-instruct': {
        contextWindow: 131_072,
        inputPricePerMTok: 0.5,
        outputPricePerMTok: 1.5,
      },
    });
    expect(byId(models, 'qwen2.5-coder-32b-instruct')).toEqual({
      id: 'qwen2.5-coder-32b-instruct',
      aliases: ['qwen-2.5-coder', 'qwen'],
      provider: 'opencode',
      contextWindow: 131_072,
      inputPricePerMTok: 0.5,
      outputPricePerMTok: 1.5,
    });
    // The other models keep their list values.
    expect(byId(models, 'deepseek-chat').inputPricePerMTok).toBe(0.27);
  });

  it('overrides only the fields given, and takes a price of 0 as a price', () => {
    const model = byId(
      opencodeModels({ 'deepseek-chat': { inputPricePerMTok: 0 } }),
      'deepseek-chat',
    );
    expect(model.inputPricePerMTok).toBe(0);
    expect(model.outputPricePerMTok).toBe(1.1);
    expect(model.contextWindow).toBe(128_000);
  });

  it('ignores overrides of models it does not have, and overrides keyed by an alias', () => {
    expect(
      opencodeModels({
        'gpt-4o': { inputPricePerMTok: 9 },
        'deepseek-v3': { inputPricePerMTok: 9 },
      }),
    ).toEqual(opencodeModels({}));
  });

  it('does not let one call’s overrides leak into the next', () => {
    opencodeModels({ 'deepseek-chat': { id: 'deepseek/deepseek-chat', inputPricePerMTok: 5 } });
    expect(byId(opencodeModels({}), 'deepseek-chat')).toMatchObject({
      aliases: ['deepseek-v3', 'deepseek'],
      inputPricePerMTok: 0.27,
    });
  });
});

describe('costUsd', () => {
  const [deepseek, kimi] = opencodeModels({});

  it('prices input and output tokens per million', () => {
    expect(costUsd(deepseek, 1_000_000, 0)).toBe(0.27);
    expect(costUsd(deepseek, 0, 1_000_000)).toBe(1.1);
    expect(costUsd(kimi, 1_000_000, 1_000_000)).toBe(3.1);
    expect(costUsd(deepseek, 101, 18)).toBe(0.00004707);
    expect(costUsd(kimi, 205, 27)).toBe(0.0001905);
  });

  it('is 0 for no tokens', () => {
    expect(costUsd(deepseek, 0, 0)).toBe(0);
  });

  it('uses the prices of the ModelInfo it is given', () => {
    const [overridden] = opencodeModels({
      'deepseek-chat': { inputPricePerMTok: 1, outputPricePerMTok: 2 },
    });
    expect(costUsd(overridden, 1_000, 500)).toBe(0.002);
  });

  it('rounds to a billionth of a dollar, so floating-point noise does not show', () => {
    const model: ModelInfo = { ...deepseek, inputPricePerMTok: 0.1, outputPricePerMTok: 0.2 };
    // 0.1 + 0.2 is 0.30000000000000004 in floating point.
    expect(costUsd(model, 1_000_000, 1_000_000)).toBe(0.3);
    const tiny: ModelInfo = { ...deepseek, inputPricePerMTok: 0.0001, outputPricePerMTok: 0.0006 };
    // 1e-10 rounds away; 6e-10 rounds up to 1e-9.
    expect(costUsd(tiny, 1, 0)).toBe(0);
    expect(costUsd(tiny, 0, 1)).toBe(1e-9);
  });
});

describe('opencodeModels with a list of the file’s own models', () => {
  const local = {
    id: 'qwen2.5-coder:7b',
    aliases: ['local'],
    provider: 'opencode',
    contextWindow: 32_768,
    inputPricePerMTok: 0,
    outputPricePerMTok: 0,
  };

  it('serves that list alone, in its order, instead of the built-in models', () => {
    const second = { ...local, id: 'llama3.1:8b', aliases: [] };
    expect(opencodeModels([local, second])).toEqual([local, second]);
  });

  it('prices a free local model at 0', () => {
    const [model] = opencodeModels([local]);
    expect(costUsd(model, 1_000_000, 1_000_000)).toBe(0);
  });
});
