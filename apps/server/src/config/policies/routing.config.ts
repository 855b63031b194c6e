import type { ComplexityRoutingPolicy } from '@jelmore/sessions';
import { ConfigError } from '../config-error';

type Source = Record<string, unknown>;

/** The tier `default` is what a session whose classifier failed reports. */
const TIER = /^(?!default$)[a-z][a-z0-9_-]{0,31}$/;
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

/**
 * `routing` of the file, or JELMORE_ROUTING (the same object as JSON, replacing the file's):
 * `{ complexity: { tiers: { <tier>: "<model>" | { provider?, model } } } }`. Unset: no routing.
 */
export function loadRouting(
  fromEnv: string | undefined,
  fromFile: unknown,
  where: string,
): ComplexityRoutingPolicy | undefined {
  let raw = fromFile;
  if (fromEnv?.trim()) {
    where = 'JELMORE_ROUTING';
    try {
      raw = JSON.parse(fromEnv) as unknown;
    } catch {
      throw invalid(where, 'must be JSON, e.g. {"complexity":{"tiers":{"simple":"haiku"}}}');
    }
  }
  if (raw === undefined) return undefined;
  const routing = objectOf(raw, where, ['complexity']);
  if (routing.complexity === undefined) return undefined;
  const complexity = objectOf(routing.complexity, `${where}.complexity`, ['tiers']);
  const tiersAt = `${where}.complexity.tiers`;
  const tiers = objectOf(complexity.tiers, tiersAt);
  if (Object.keys(tiers).length === 0) {
    throw invalid(tiersAt, 'must name at least one tier, e.g. {"simple":"haiku","complex":"opus"}');
  }
  return {
    tiers: Object.fromEntries(
      Object.entries(tiers).map(([tier, value]) => {
        const at = `${tiersAt}.${tier}`;
        if (!TIER.test(tier)) {
          throw invalid(
            at,
            'is not a tier name: lower-case letters, digits, _ and -, not "default"',
          );
        }
        if (typeof value === 'string') return [tier, { model: modelName(value, at) }];
        const target = objectOf(value, at, ['provider', 'model']);
        return [
          tier,
          {
            ...(target.provider !== undefined
              ? { provider: modelName(target.provider, `${at}.provider`, 'a provider name') }
              : {}),
            model: modelName(target.model, `${at}.model`),
          },
        ];
      }),
    ),
  };
}

/** A model id or alias (or a provider name: `kind`). */
export function modelName(value: unknown, at: string, kind = 'a model id or alias'): string {
  if (typeof value === 'string' && MODEL_NAME.test(value)) return value;
  throw invalid(at, `must be ${kind} (got ${JSON.stringify(value)})`);
}

/** A JSON object, with only the given keys when `keys` is given. */
export function objectOf(value: unknown, at: string, keys?: readonly string[]): Source {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(at, `must be an object (got ${JSON.stringify(value)})`);
  }
  const unknown = keys && Object.keys(value).find((key) => !keys.includes(key));
  if (unknown) throw invalid(`${at}.${unknown}`, `is not one of ${keys.join(', ')}`);
  return value as Source;
}

export function invalid(at: string, what: string): ConfigError {
  return new ConfigError(`Invalid configuration: ${at} ${what}`);
}
