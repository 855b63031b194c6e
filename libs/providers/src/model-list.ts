import type { ModelInfo } from '@jelmore/contracts';
import { ProviderSettingsError } from './provider-settings';

/** A model of a configured list: what selection sees, plus what only an agent's own config takes. */
export interface ConfiguredModel extends ModelInfo {
  /** A display name for the agent's config (opencode's `name`); listings show the id. */
  name?: string;
  /** Output tokens per model call, where the agent's config takes a limit (opencode's `limit.output`). */
  maxOutputTokens?: number;
}

/**
 * The keys of one entry of a config file's model list (`providers.opencode.models`, an ACP agent's
 * `models`): one shape for every provider whose models the operator lists.
 */
export const MODEL_LIST_KEYS = [
  'id',
  'name',
  'aliases',
  'context_window',
  'max_output',
  'input_price_per_mtok',
  'output_price_per_mtok',
] as const;

/** Unless an entry says otherwise: what most OpenAI-compatible coding models serve today. */
export const DEFAULT_CONTEXT_WINDOW = 128_000;

/**
 * A model list of the config file, checked: every entry an object with an `id`, whole token counts,
 * prices of 0 or more (0 when left out: a local model costs nothing), no name given to two models.
 * Throws ProviderSettingsError, one line naming the entry and key (`<where>[<i>].<key>`).
 */
export function parseModelList(
  entries: unknown,
  provider: string,
  where: string,
): ConfiguredModel[] {
  if (!Array.isArray(entries)) fail(`${where} must be a list of models`);
  const seen = new Set<string>();
  return entries.map((entry: unknown, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(entry)) fail(`${at} must be an object`);
    const unknown = Object.keys(entry).find(
      (key) => !(MODEL_LIST_KEYS as readonly string[]).includes(key),
    );
    if (unknown) fail(`${at}.${unknown} is not a key of a model (${MODEL_LIST_KEYS.join(', ')})`);
    const { id, name, aliases = [] } = entry;
    if (typeof id !== 'string' || !id) fail(`${at}.id must be a non-empty string`);
    if (name !== undefined && (typeof name !== 'string' || !name)) {
      fail(`${at}.name must be a non-empty string (got ${JSON.stringify(name)})`);
    }
    if (!Array.isArray(aliases) || aliases.some((a) => typeof a !== 'string' || !a)) {
      fail(`${at}.aliases must be a list of names`);
    }
    for (const key of ['context_window', 'max_output'] as const) {
      const value = entry[key];
      if (value !== undefined && !(Number.isInteger(value) && (value as number) >= 1)) {
        fail(`${at}.${key} must be a whole number of tokens (got ${JSON.stringify(value)})`);
      }
    }
    for (const key of ['input_price_per_mtok', 'output_price_per_mtok'] as const) {
      const value = entry[key];
      if (value !== undefined && !(typeof value === 'number' && value >= 0 && isFinite(value))) {
        fail(`${at}.${key} must be a price in USD, 0 or more (got ${JSON.stringify(value)})`);
      }
    }
    for (const alias of [id, ...(aliases as string[])]) {
      if (seen.has(alias)) fail(`${at}: '${alias}' names two models`);
      seen.add(alias);
    }
    return {
      id,
      aliases: aliases as string[],
      provider,
      contextWindow: (entry.context_window as number | undefined) ?? DEFAULT_CONTEXT_WINDOW,
      inputPricePerMTok: (entry.input_price_per_mtok as number | undefined) ?? 0,
      outputPricePerMTok: (entry.output_price_per_mtok as number | undefined) ?? 0,
      ...(name !== undefined ? { name } : {}),
      ...(entry.max_output !== undefined ? { maxOutputTokens: entry.max_output as number } : {}),
    };
  });
}

/** The model as listings and selection show it, without the agent-only fields. */
export function listedModel(model: ConfiguredModel): ModelInfo {
  const { id, aliases, provider, contextWindow, inputPricePerMTok, outputPricePerMTok } = model;
  return { id, aliases, provider, contextWindow, inputPricePerMTok, outputPricePerMTok };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function fail(message: string): never {
  throw new ProviderSettingsError(`Invalid configuration: ${message}`);
}
