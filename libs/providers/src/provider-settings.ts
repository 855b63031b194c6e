import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { readFileSync } from 'node:fs';
import { loadSettingsTable, parseSetting, Setting } from '@jelmore/contracts';

/** Where one field of a provider's settings comes from: a row of the shared settings table. */
export type ProviderSetting = Setting;

/** A provider's settings that fail validation; the message names the variable or file key. */
export class ProviderSettingsError extends Error {}

export { parseSetting };

/** The defaults of a provider's settings table, by field. */
export function settingDefaults<T>(fields: { [K in keyof T]-?: Setting }): Partial<T> {
  return Object.fromEntries(
    Object.entries<Setting>(fields)
      .filter(([, s]) => s.default !== undefined)
      .map(([field, s]) => [field, s.default]),
  ) as Partial<T>;
}

/**
 * Loads a provider folder's own settings, so the server's config needs no edit for a new provider:
 * `JELMORE_<NAME>_*` variables over `providers.<name>` of the JELMORE_CONFIG file over `defaults`,
 * validated by the folder's class-validator class. Throws ProviderSettingsError at the first bad value.
 */
export function loadProviderSettings<T extends object>(
  name: string,
  cls: Type<T>,
  fields: { [K in keyof T]-?: ProviderSetting },
  defaults: Partial<T> = settingDefaults(fields),
  env: NodeJS.ProcessEnv = process.env,
): T {
  const section = fileSection(name, env);
  const { values, where } = loadSettingsTable(
    fields,
    env,
    section,
    env.JELMORE_CONFIG,
    `providers.${name}.`,
  );
  const plain: Record<string, unknown> = { ...defaults, ...values };
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
