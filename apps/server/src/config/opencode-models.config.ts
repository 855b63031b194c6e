import {
  type OpencodeModelOverride,
  type OpencodeModelsSetting,
  opencodeModels,
  parseModelList,
  ProviderSettingsError,
} from '@jelmore/providers';
import { ConfigError } from './config-error';

type Source = Record<string, unknown>;

/**
 * `providers.opencode.models` of the file. A list (`[{id, name, aliases, context_window, max_output,
 * input_price_per_mtok, output_price_per_mtok}]`, prices 0 unless given) is the endpoint's own models
 * and replaces the built-in ones: someone pointing opencode at Ollama wants only theirs. An object keyed
 * by built-in id only overrides those (the older shape, still read).
 */
export function opencodeModelsSetting(value: unknown, where: string): OpencodeModelsSetting {
  if (value === undefined) return {};
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new ConfigError(
        `Invalid configuration: ${where} must list at least one model (leave it out for the built-in ones)`,
      );
    }
    try {
      return parseModelList(value, 'opencode', where);
    } catch (err) {
      if (err instanceof ProviderSettingsError) throw new ConfigError(err.message);
      throw err;
    }
  }
  if (!value || typeof value !== 'object') {
    throw new ConfigError(
      `Invalid configuration: ${where} must be a list of models, or an object of overrides keyed by built-in model id`,
    );
  }
  return modelOverrides(value as Source, where);
}

/**
 * The default model must be one opencode serves. With a list of the file's own and no default named
 * (variable or file), the list's first model is the default, as for an ACP agent.
 */
export function opencodeDefaultModel(
  models: OpencodeModelsSetting,
  defaultModel: string,
  named: boolean,
  key: string,
): string {
  const list = opencodeModels(models);
  if (Array.isArray(models) && !named) return list[0].id;
  const ids = list.flatMap((m) => [m.id, ...m.aliases]);
  if (!ids.includes(defaultModel)) {
    throw new ConfigError(
      `Invalid configuration: ${key} must be one of ${ids.join(', ')} (got ${JSON.stringify(defaultModel)})`,
    );
  }
  return defaultModel;
}

/** Per-model id, context window and prices of the built-in models, by canonical id. */
function modelOverrides(value: Source, where: string): Record<string, OpencodeModelOverride> {
  const known = opencodeModels({}).map((m) => m.id);
  const fields = {
    id: 'string',
    context_window: 'number',
    input_price_per_mtok: 'number',
    output_price_per_mtok: 'number',
  } as const;
  return Object.fromEntries(
    Object.entries(value).map(([model, raw]) => {
      if (!known.includes(model)) {
        throw new ConfigError(
          `Invalid configuration: ${where}.${model} is not a built-in model (${known.join(', ')}): to serve other models, make the models a list, [{"id": "${model}"}]`,
        );
      }
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new ConfigError(`Invalid configuration: ${where}.${model} must be an object`);
      }
      const entry = raw as Source;
      for (const [key, v] of Object.entries(entry)) {
        const type = fields[key as keyof typeof fields] as 'string' | 'number' | undefined;
        const ok =
          type === 'string'
            ? typeof v === 'string' && v !== ''
            : type === 'number' && typeof v === 'number' && v >= 0;
        if (!ok) {
          throw new ConfigError(
            `Invalid configuration: ${where}.${model}.${key} ${type ? `must be a ${type === 'number' ? 'non-negative number' : 'non-empty string'}` : `is not one of ${Object.keys(fields).join(', ')}`} (got ${JSON.stringify(v)})`,
          );
        }
      }
      return [
        model,
        {
          id: entry.id as string | undefined,
          contextWindow: entry.context_window as number | undefined,
          inputPricePerMTok: entry.input_price_per_mtok as number | undefined,
          outputPricePerMTok: entry.output_price_per_mtok as number | undefined,
        },
      ];
    }),
  );
}
