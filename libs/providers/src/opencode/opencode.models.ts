import type { ModelInfo } from '@jelmore/contracts';
import type { ConfiguredModel } from '../model-list';
import type { OpencodeModelsSetting } from './opencode.options';

// The ids these models have on their makers' OpenAI-compatible APIs; the seed's names are aliases. List
// prices per 1M tokens, also used to compute each turn's cost; the JSON file can override any of them,
// or list other models instead.
const BASE_MODELS: ModelInfo[] = [
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
];

/** Output tokens each model may produce in one step, sent to opencode as its limit. */
export const MAX_OUTPUT_TOKENS = 8192;

/** The models opencode serves: the file's list when it has one, else the built-in ones, overridden. */
export function opencodeModels(setting: OpencodeModelsSetting): ConfiguredModel[] {
  if (Array.isArray(setting)) return setting;
  const overrides = setting;
  return BASE_MODELS.map((model) => {
    const o = overrides[model.id];
    if (!o) return model;
    return {
      ...model,
      id: o.id ?? model.id,
      aliases: o.id && o.id !== model.id ? [model.id, ...model.aliases] : model.aliases,
      contextWindow: o.contextWindow ?? model.contextWindow,
      inputPricePerMTok: o.inputPricePerMTok ?? model.inputPricePerMTok,
      outputPricePerMTok: o.outputPricePerMTok ?? model.outputPricePerMTok,
    };
  });
}

export function costUsd(model: ModelInfo, inputTokens: number, outputTokens: number): number {
  const cost =
    (inputTokens * model.inputPricePerMTok + outputTokens * model.outputPricePerMTok) / 1e6;
  return Math.round(cost * 1e9) / 1e9;
}
