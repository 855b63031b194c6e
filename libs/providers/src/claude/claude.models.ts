import type { ModelInfo } from '@jelmore/contracts';

// Full ids as the installed CLI resolves its aliases (TOOLCHAIN.md). Prices are list prices per 1M tokens,
// used for selection; a session's cost is what the CLI reports.
export const CLAUDE_MODELS: ModelInfo[] = [
  {
    id: 'claude-opus-5-5',
    aliases: ['opus'],
    provider: 'claude',
    contextWindow: 1_000_000,
    inputPricePerMTok: 5,
    outputPricePerMTok: 25,
  },
  {
    id: 'claude-sonnet-5-5',
    aliases: ['sonnet'],
    provider: 'claude',
    contextWindow: 1_000_000,
    inputPricePerMTok: 3,
    outputPricePerMTok: 15,
  },
  {
    id: 'claude-haiku-5-5',
    aliases: ['haiku'],
    provider: 'claude',
    contextWindow: 200_000,
    inputPricePerMTok: 1,
    outputPricePerMTok: 5,
  },
];

/** Dated and older ids (e.g. claude-3-5-sonnet-20241022) are passed to the CLI as they are. */
const PASS_THROUGH = /^claude-[a-z0-9.-]+$/;

export function resolveClaudeModel(model: string): ModelInfo | undefined {
  const known = CLAUDE_MODELS.find((m) => m.id === model || m.aliases.includes(model));
  if (known) return known;
  if (!PASS_THROUGH.test(model)) return undefined;
  const family = CLAUDE_MODELS.find((m) => model.includes(m.aliases[0]));
  return {
    id: model,
    aliases: [],
    provider: 'claude',
    contextWindow: 200_000,
    inputPricePerMTok: family?.inputPricePerMTok ?? 3,
    outputPricePerMTok: family?.outputPricePerMTok ?? 15,
  };
}
