/**
 * One setting of the server or of a provider, declared once: the loader, the validation, the one-line
 * boot errors and docs/configuration.md are all made from tables of these.
 */
export interface Setting {
  /** The environment variable, e.g. `JELMORE_PORT`; it wins over the file. Unset: file only. */
  env?: string;
  /**
   * The key in the JELMORE_CONFIG file (snake_case): dotted from the file's root for the server's
   * table (`providers.claude.claude_bin`), under `providers.<name>` for a provider's. Unset: env only.
   */
  file?: string;
  /** From the variable's string to the field's type; file values are JSON already. */
  parse?: (raw: string) => unknown;
  /** The value when neither env nor file sets it; a function computes it from the other values. */
  default?: unknown;
  /** The default as the docs show it, when its value does not say it well (`unset` when none). */
  defaultText?: string;
  /** What the setting does: one markdown sentence or two, for docs/configuration.md. */
  description?: string;
  /** A secret (a key, a password): env only, never echoed; marked so in the docs. */
  secret?: boolean;
  /** Loaded by its own parser rather than the table's loader (it still has its row in the docs). */
  custom?: boolean;
  /** Validation of the loaded value: property decorators (class-validator's), applied to the class. */
  rules?: ReadonlyArray<(target: object, property: string) => void>;
}

/** A table of settings keyed by the field they load into (`port`, or `claude.bin` for a nested one). */
export type SettingsTable<K extends string = string> = Readonly<Record<K, Setting>>;

/** Parsers for the usual setting types: booleans take true/false, 1/0, yes/no, on/off. */
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

/** What {@link loadSettingsTable} read: the values by field, and where each came from (for errors). */
export interface LoadedSettings {
  values: Record<string, unknown>;
  /** Per field: the variable, or `<file>: <key>` when the file set it. */
  where: Record<string, string>;
}

/**
 * Env over file over default for every row of `table` not marked custom. `file` is the JSON object
 * the rows' `file` keys are looked up in (dotted), `fileName` names it in `where`, `filePrefix` is
 * put before a key there (`providers.codex.`). Defaults that are functions see the other values.
 */
export function loadSettingsTable(
  table: SettingsTable,
  env: Record<string, string | undefined>,
  file: Record<string, unknown>,
  fileName: string | undefined,
  filePrefix = '',
): LoadedSettings {
  const values: Record<string, unknown> = {};
  const where: Record<string, string> = {};
  const computed: Array<[string, (v: Record<string, unknown>) => unknown]> = [];
  for (const [field, setting] of Object.entries(table)) {
    if (setting.custom) continue;
    const raw = setting.env ? env[setting.env] : undefined;
    const fromFile = setting.file ? valueAt(file, setting.file) : undefined;
    where[field] = setting.env ?? `${fileName}: ${filePrefix}${setting.file}`;
    if (raw !== undefined && raw !== '') {
      values[field] = setting.parse ? setting.parse(raw) : raw;
    } else if (fromFile !== undefined) {
      where[field] = `${fileName}: ${filePrefix}${setting.file}`;
      values[field] = fromFile;
    } else if (typeof setting.default === 'function') {
      computed.push([field, setting.default as (v: Record<string, unknown>) => unknown]);
    } else if (setting.default !== undefined) {
      values[field] = setting.default;
    }
  }
  for (const [field, compute] of computed) values[field] = compute(values);
  return { values, where };
}

/** `{ 'a': 1, 'b.c': 2 }` → `{ a: 1, b: { c: 2 } }`. */
export function nestSettings(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(values)) {
    const parts = path.split('.');
    let at = out;
    for (const part of parts.slice(0, -1)) at = (at[part] ??= {}) as Record<string, unknown>;
    at[parts[parts.length - 1]] = value;
  }
  return out;
}

/**
 * Applies the rows' validation rules to the classes that hold them: `classes['']` for a top-level
 * field, `classes.claude` for `claude.*`. Call once, when the classes are defined.
 */
export function applySettingRules(
  table: SettingsTable,
  classes: Record<string, { prototype: object }>,
): void {
  for (const [field, setting] of Object.entries(table)) {
    const dot = field.lastIndexOf('.');
    const cls = classes[dot < 0 ? '' : field.slice(0, dot)];
    if (!cls) throw new Error(`No settings class for ${field}`);
    // Decorators run bottom-up: the last rule listed is applied first, as if written on the field.
    for (const rule of [...(setting.rules ?? [])].reverse()) {
      rule(cls.prototype, field.slice(dot + 1));
    }
  }
}

/** The value at a dotted path of a JSON object, if every step is an object. */
export function valueAt(source: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) =>
        value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined,
      source,
    );
}

/** A markdown table of settings: env var, file key, default, meaning; secrets marked. */
export function settingsMarkdown(table: SettingsTable, filePrefix = ''): string {
  const code = (text: string) => `\`${text}\``;
  const rows = Object.values(table).map((s) => {
    const fallback =
      s.defaultText ??
      (s.default === undefined || typeof s.default === 'function'
        ? 'unset'
        : code(Array.isArray(s.default) ? s.default.join(',') : JSON.stringify(s.default)));
    const meaning = `${s.secret ? '**Secret**: env only, never logged. ' : ''}${s.description ?? ''}`;
    return [
      s.env ? code(s.env) : '',
      s.file ? code(`${filePrefix}${s.file}`) : '(env only)',
      fallback.replace(/^`"(.*)"`$/, '`$1`'),
      meaning.replace(/\|/g, '\\|'),
    ];
  });
  return [
    '| Env var | JSON file key | Default | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}
