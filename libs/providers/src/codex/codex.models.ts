import type { ModelInfo } from '@jelmore/contracts';

/** A model with the price Codex's cached input is billed at (OpenAI bills prompt-cache hits lower). */
export interface CodexModel extends ModelInfo {
  cachedInputPricePerMTok: number;
}

// Slugs from the model catalog built into @openai/codex 0.171 (so the CLI has their metadata: context,
// tools, reasoning). USD per 1M tokens as published for these models by third parties (no price list of
// OpenAI's own was reachable offline): check them against your contract.
export const CODEX_MODELS: CodexModel[] = [
  {
    id: 'gpt-5.5',
    aliases: [],
    provider: 'codex',
    contextWindow: 272_000,
    inputPricePerMTok: 5,
    cachedInputPricePerMTok: 0.5,
    outputPricePerMTok: 30,
  },
  {
    id: 'gpt-6.1-sol',
    aliases: [],
    provider: 'codex',
    contextWindow: 500_000,
    inputPricePerMTok: 2,
    cachedInputPricePerMTok: 0.1,
    outputPricePerMTok: 10,
  },
];

export function resolveCodexModel(model: string): CodexModel | undefined {
  return CODEX_MODELS.find((m) => m.id === model || m.aliases.includes(model));
}

/** Token counts as Codex reports them: `inputTokens` includes the cached ones. */
export interface CodexTokens {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** USD for `tokens` at the model's prices, cached input at its own price; rounded to 1e-9. */
export function codexCostUsd(model: CodexModel, tokens: CodexTokens): number {
  const cached = Math.min(tokens.cachedInputTokens, tokens.inputTokens);
  const cost =
    ((tokens.inputTokens - cached) * model.inputPricePerMTok +
      cached * model.cachedInputPricePerMTok +
      tokens.outputTokens * model.outputPricePerMTok) /
    1e6;
  return Math.round(cost * 1e9) / 1e9;
}
