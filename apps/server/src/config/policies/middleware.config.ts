import { readFileSync } from 'node:fs';
import { type MiddlewareOptions, SecretRedactor, SecretValues } from '@jelmore/sessions';
import { MIDDLEWARE_SETTINGS } from '../settings/middleware.settings';
import { loadPolicySettings } from './policy-settings';
import { invalid, objectOf } from './routing.config';

/** Longest prompt prefix or suffix, in characters. */
const MAX_AFFIX = 10_000;

/**
 * `middleware` of the file (`redactor: { enabled, patterns }`, `prompt: { prefix, suffix }`) under the
 * variables of MIDDLEWARE_SETTINGS. The redactor also gets the literal API keys of JELMORE_API_KEYS and
 * JELMORE_API_KEYS_FILE (checked by loadConfig before this runs), hidden from the config's JSON.
 */
export function loadMiddleware(
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
  fileName = 'JELMORE_CONFIG',
): MiddlewareOptions {
  const at = `${fileName}: middleware`;
  if (file.middleware !== undefined) {
    const section = objectOf(file.middleware, at, ['redactor', 'prompt']);
    if (section.redactor !== undefined)
      objectOf(section.redactor, `${at}.redactor`, ['enabled', 'patterns']);
    if (section.prompt !== undefined)
      objectOf(section.prompt, `${at}.prompt`, ['prefix', 'suffix']);
  }
  // The rows are `custom` in the server's table (its loader skips them): loaded here, by the same rules.
  const { values, where } = loadPolicySettings(MIDDLEWARE_SETTINGS, env, file, fileName);
  if (typeof values.redactSecrets !== 'boolean') {
    throw invalid(
      where.redactSecrets,
      `must be true or false (got ${JSON.stringify(values.redactSecrets)})`,
    );
  }
  return {
    redactor: {
      enabled: values.redactSecrets,
      patterns: patterns(values.redactPatterns, where.redactPatterns),
      secrets: new SecretValues(values.redactSecrets ? apiKeyValues(env) : []),
    },
    prompt: {
      prefix: affix(values.promptPrefix, where.promptPrefix),
      suffix: affix(values.promptSuffix, where.promptSuffix),
    },
  };
}

/** Each a valid RegExp that matches no empty text, and all of them together beside the built-ins. */
function patterns(value: unknown, at: string): string[] {
  if (!Array.isArray(value) || !value.every((p) => typeof p === 'string' && p !== '')) {
    throw invalid(at, `must be a list of regular expressions (got ${JSON.stringify(value)})`);
  }
  value.forEach((source: string, i) => {
    let matchesEmpty: boolean;
    try {
      matchesEmpty = new RegExp(source).test('');
    } catch (err) {
      throw invalid(`${at}[${i}]`, `is not a regular expression: ${(err as Error).message}`);
    }
    if (matchesEmpty)
      throw invalid(`${at}[${i}]`, `matches empty text (got ${JSON.stringify(source)})`);
  });
  try {
    new SecretRedactor(value as string[]);
  } catch (err) {
    throw invalid(
      at,
      `cannot be joined into one pattern (named groups?): ${(err as Error).message}`,
    );
  }
  return value as string[];
}

function affix(value: unknown, at: string): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || value.length > MAX_AFFIX) {
    throw invalid(at, `must be text of at most ${MAX_AFFIX} characters`);
  }
  return value;
}

/** The keys of `id:key[:admin]` entries, from the variable and the key file. */
export function apiKeyValues(env: NodeJS.ProcessEnv): string[] {
  const entries = [
    ...(env.JELMORE_API_KEYS ?? '').split(','),
    ...(env.JELMORE_API_KEYS_FILE
      ? readFileSync(env.JELMORE_API_KEYS_FILE, 'utf8').split(/[,\n]/)
      : []),
  ];
  return entries
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '' && !entry.startsWith('#'))
    .map((entry) => entry.split(':')[1])
    .filter((key): key is string => !!key);
}
