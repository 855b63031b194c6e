import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { readFileSync } from 'node:fs';

/** Where one field of a provider's settings comes from. */
export interface ProviderSetting {
  /** The environment variable, e.g. `JELMORE_CODEX_BASE_URL`; it wins over the file. */
  env: string;
  /** The key under `providers.<name>` of the JELMORE_CONFIG file (snake_case, as the rest of it). */
  file?: string;
  /** From the variable's string to the field's type; file values are JSON already. */
  parse?: (raw: string) => unknown;
}

/** A provider's settings that fail validation; the message names the variable or file key. */
export class ProviderSettingsError extends Error {}

/** Parsers for the usual setting types, the same spellings the server's own config accepts. */
export const parseSetting = {
  int: (raw: string): unknown => (/^-?\d+$/.test(raw.trim()) ? Number(raw) : raw),
  bool: (raw: string): unknown => {
    const value = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    return raw;
  },
  list: (raw: string): unknown =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
};

/**
 * Loads a provider folder's own settings, so the server's config needs no edit for a new provider:
 * `JELMORE_<NAME>_*` variables over `providers.<name>` of the JELMORE_CONFIG file over `defaults`,
 * validated by the folder's class-validator class. Throws ProviderSettingsError at the first bad value.
 */
export function loadProviderSettings<T extends object>(
  name: string,
  cls: Type<T>,
  fields: { [K in keyof T]-?: ProviderSetting },
  defaults: Partial<T>,
  env: NodeJS.ProcessEnv = process.env,
): T {
  const section = fileSection(name, env);
  const where: Record<string, string> = {};
  const plain: Record<string, unknown> = { ...defaults };
  for (const [field, setting] of Object.entries<ProviderSetting>(fields)) {
    const raw = env[setting.env];
    where[field] = setting.env;
    if (raw !== undefined && raw !== '') {
      plain[field] = setting.parse ? setting.parse(raw) : raw;
    } else if (setting.file && section[setting.file] !== undefined) {
      where[field] = `${env.JELMORE_CONFIG}: providers.${name}.${setting.file}`;
      plain[field] = section[setting.file];
    }
  }
  const settings = plainToInstance(cls, plain);
  const [error] = validateSync(settings, { forbidUnknownValues: true });
  if (error) {
    const constraints = error.constraints ?? {};
    // The type a value should have says more than its range ("must be an integer" before "not < 1").
    const key =
      Object.keys(constraints).find((k) => /^is(Int|Boolean|String|Array|In|Url)$/.test(k)) ??
      Object.keys(constraints)[0];
    const message = key ? constraints[key] : `${error.property} is invalid`;
    const expected = message.startsWith(`${error.property} `)
      ? message.slice(error.property.length + 1)
      : message;
    throw new ProviderSettingsError(
      `Invalid configuration: ${where[error.property] ?? error.property} ${expected} (got ${JSON.stringify(error.value)})`,
    );
  }
  return settings;
}

function fileSection(name: string, env: NodeJS.ProcessEnv): Record<string, unknown> {
  if (!env.JELMORE_CONFIG) return {};
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(env.JELMORE_CONFIG, 'utf8'));
  } catch (err) {
    // The server's own config loader reads the same file first and reports it; this is for other hosts.
    throw new ProviderSettingsError(
      `Invalid configuration: ${env.JELMORE_CONFIG} cannot be read as JSON (${err instanceof Error ? err.message : String(err)})`,
    );
  }
  const providers = (file as { providers?: unknown } | null)?.providers;
  const section = (providers as Record<string, unknown> | undefined)?.[name];
  if (section === undefined) return {};
  if (!section || typeof section !== 'object' || Array.isArray(section)) {
    throw new ProviderSettingsError(
      `Invalid configuration: ${env.JELMORE_CONFIG}: providers.${name} must be an object`,
    );
  }
  return section as Record<string, unknown>;
}
