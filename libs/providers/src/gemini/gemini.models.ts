import type { ModelInfo, Usage } from '@jelmore/contracts';

// List prices per 1M tokens for prompts up to 200k tokens (the longer-prompt tier is not modelled), used
// for selection and to price each turn from the CLI's token counts: the CLI reports no cost of its own.
export const GEMINI_MODELS: ModelInfo[] = [
  {
    id: 'gemini-2.5-pro',
    aliases: ['gemini-pro'],
    provider: 'gemini',
    contextWindow: 1_048_576,
    inputPricePerMTok: 1.25,
    outputPricePerMTok: 10,
  },
  {
    id: 'gemini-2.5-flash',
    aliases: ['gemini-flash'],
    provider: 'gemini',
    contextWindow: 1_048_576,
    inputPricePerMTok: 0.3,
    outputPricePerMTok: 2.5,
  },
  {
    id: 'gemini-2.5-flash-lite',
    aliases: ['gemini-flash-lite'],
    provider: 'gemini',
    contextWindow: 1_048_576,
    inputPricePerMTok: 0.1,
    outputPricePerMTok: 0.4,
  },
  {
    id: 'gemini-3-pro-preview',
    aliases: ['gemini-3-pro'],
    provider: 'gemini',
    contextWindow: 1_048_576,
    inputPricePerMTok: 2,
    outputPricePerMTok: 12,
  },
  {
    id: 'gemini-3-flash-preview',
    aliases: ['gemini-3-flash'],
    provider: 'gemini',
    contextWindow: 1_048_576,
    inputPricePerMTok: 0.5,
    outputPricePerMTok: 3,
  },
];

/** Cached prompt tokens cost a tenth of the input price (Google's context caching list price). */
export const CACHED_INPUT_PRICE = 0.1;

export function resolveGeminiModel(model: string): ModelInfo | undefined {
  return GEMINI_MODELS.find((m) => m.id === model || m.aliases.includes(model));
}

/** One model's token counts in the CLI's `result.stats.models`. */
export interface GeminiTokenStats {
  input_tokens?: number;
  output_tokens?: number;
  cached?: number;
  total_tokens?: number;
}

/**
 * A turn's usage from the CLI's per-model stats. Thinking tokens are billed as output but the CLI's
 * `output_tokens` leaves them out: output is everything in the total that is not prompt. A model the table
 * does not know is priced as `fallback`, the session's model.
 */
export function geminiUsage(models: Record<string, GeminiTokenStats>, fallback: ModelInfo): Usage {
  let inputTokens = 0;
  let outputTokens = 0;
  let cost = 0;
  for (const [id, stats] of Object.entries(models)) {
    const price = resolveGeminiModel(id) ?? fallback;
    const input = stats.input_tokens ?? 0;
    const cached = Math.min(stats.cached ?? 0, input);
    const output = Math.max(stats.output_tokens ?? 0, (stats.total_tokens ?? 0) - input);
    inputTokens += input;
    outputTokens += output;
    cost +=
      ((input - cached + cached * CACHED_INPUT_PRICE) * price.inputPricePerMTok +
        output * price.outputPricePerMTok) /
      1e6;
  }
  return { inputTokens, outputTokens, costUsd: Math.round(cost * 1e9) / 1e9 };
}
