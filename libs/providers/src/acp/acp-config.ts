import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { loadSettingsTable, ModelInfo } from '@jelmore/contracts';
import { listedModel, parseModelList } from '../model-list';
import { ProviderSettingsError } from '../provider-settings';
import { ACP_SETTINGS, AcpAgentOptions, AcpModelEntry } from './acp.options';

/** An ACP agent of the config file, validated: its provider name, settings and models. */
export interface AcpAgentConfig {
  name: string;
  options: AcpAgentOptions;
  models: ModelInfo[];
}

const NAME = /^[a-z][a-z0-9-]{0,39}$/;
const KNOWN_KEYS = new Set(
  Object.values(ACP_SETTINGS).flatMap((setting) => (setting.file ? [setting.file] : [])),
);

/**
 * The `providers` entries of the JELMORE_CONFIG file that have a `type`: each an ACP agent whose
 * provider is named by its key. `builtIn` are the providers that need no entry; an entry of another
 * name without a type, an unknown type, a bad key or a clash stops the boot: throws
 * ProviderSettingsError, one line naming the key.
 */
export function loadAcpAgents(
  providers: unknown,
  fileName: string,
  builtIn: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): AcpAgentConfig[] {
  if (providers === undefined) return [];
  if (!isObject(providers)) fail(`${fileName}: providers must be an object`);
  const agents: AcpAgentConfig[] = [];
  for (const [name, entry] of Object.entries(providers)) {
    const where = `${fileName}: providers.${name}`;
    if (!isObject(entry)) fail(`${where} must be an object`);
    if (entry.type === undefined) {
      // A rate limit alone may name a provider registered at run time (ProviderRegistry.register).
      if (builtIn.includes(name) || Object.keys(entry).every((k) => k === 'sessions_per_minute')) {
        continue;
      }
      fail(
        `${where} names no built-in provider (${builtIn.join(', ')}): give it "type": "acp" and a "command" to add an ACP agent`,
      );
    }
    if (entry.type !== 'acp') {
      fail(
        `${where}.type must be "acp", the one provider type a config entry can add (got ${JSON.stringify(entry.type)})`,
      );
    }
    if (builtIn.includes(name)) {
      fail(
        `${where} is an ACP agent named like the built-in provider '${name}': give it another name`,
      );
    }
    if (!NAME.test(name)) {
      fail(
        `${where}: an ACP provider's name must be lowercase letters, digits and dashes, starting with a letter`,
      );
    }
    agents.push(loadAgent(name, entry, where, fileName, env));
  }
  return agents;
}

function loadAgent(
  name: string,
  entry: Record<string, unknown>,
  where: string,
  fileName: string,
  env: NodeJS.ProcessEnv,
): AcpAgentConfig {
  const unknown = Object.keys(entry).find((key) => !KNOWN_KEYS.has(key));
  if (unknown)
    fail(`${where}.${unknown} is not a key of an ACP agent (${[...KNOWN_KEYS].join(', ')})`);
  if (entry.command === undefined) fail(`${where}.command is missing: the agent's executable`);
  const { values, where: keys } = loadSettingsTable(
    ACP_SETTINGS,
    {},
    entry,
    fileName,
    `providers.${name}.`,
  );
  const options = plainToInstance(AcpAgentOptions, values);
  const [error] = validateSync(options, { forbidUnknownValues: true });
  if (error) {
    // Name the type a value should have before its range: "must be an integer" beats "must not be less than 1".
    const constraints = error.constraints ?? {};
    const rule =
      Object.keys(constraints).find((k) => /^is(Int|Boolean|String|Array|Object|In)$/.test(k)) ??
      Object.keys(constraints)[0];
    const message = rule ? constraints[rule] : `${error.property} is invalid`;
    const expected = message.startsWith(`${error.property} `)
      ? message.slice(error.property.length + 1)
      : message;
    fail(`${keys[error.property]} ${expected} (got ${JSON.stringify(error.value)})`);
  }
  options.env = substituteEnv(options.env, `${where}.env`, env);
  const models = loadModels(name, options.models, `${where}.models`);
  const ids = models.flatMap((m) => [m.id, ...m.aliases]);
  if (options.defaultModel !== undefined && !ids.includes(options.defaultModel)) {
    fail(
      `${where}.default_model must be one of ${ids.join(', ')} (got ${JSON.stringify(options.defaultModel)})`,
    );
  }
  return { name, options, models };
}

/** `"${NAME}"` in a value becomes the server's variable NAME; an unset one stops the boot. */
function substituteEnv(
  values: Record<string, unknown>,
  where: string,
  env: NodeJS.ProcessEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) fail(`${where}: '${key}' is not a variable name`);
    if (typeof value !== 'string')
      fail(`${where}.${key} must be a string (got ${JSON.stringify(value)})`);
    out[key] = value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, ref: string) => {
      const resolved = env[ref];
      if (resolved === undefined)
        fail(`${where}.${key} references \${${ref}}, which is not set in the server's environment`);
      return resolved;
    });
  }
  return out;
}

/** The entry's models (the shape opencode's list has too); none listed: one named after the agent. */
function loadModels(provider: string, entries: AcpModelEntry[], where: string): ModelInfo[] {
  if (entries.length === 0) return parseModelList([{ id: provider }], provider, where);
  // name and max_output are for agents whose model config Jelmore writes; listings show neither.
  return parseModelList(entries, provider, where).map(listedModel);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function fail(message: string): never {
  throw new ProviderSettingsError(`Invalid configuration: ${message}`);
}
