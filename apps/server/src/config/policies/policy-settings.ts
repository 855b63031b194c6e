import { type LoadedSettings, loadSettingsTable, type SettingsTable } from '@jelmore/contracts';
import { invalid } from './routing.config';

/** What loadPolicySettings read, with a reader for the positive integers among it. */
export interface PolicySettings extends LoadedSettings {
  /** The field's value, or the one-line ConfigError naming where it came from. */
  positiveInt(field: string): number;
}

/**
 * A policy's rows of the settings table (marked custom, so loadConfig leaves them to it): env over the
 * file over the defaults, as loadConfig reads its own.
 */
export function loadPolicySettings(
  table: SettingsTable,
  env: Record<string, string | undefined>,
  file: Record<string, unknown>,
  fileName: string | undefined,
): PolicySettings {
  const rows: SettingsTable = Object.fromEntries(
    Object.entries(table).map(([field, row]) => [field, { ...row, custom: false }]),
  );
  const { values, where } = loadSettingsTable(rows, env, file, fileName);
  return {
    values,
    where,
    positiveInt(field) {
      const value = values[field];
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        throw invalid(where[field], `must be a positive integer (got ${JSON.stringify(value)})`);
      }
      return value;
    },
  };
}
