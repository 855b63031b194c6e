import { EXPERIMENT_STICKINESS, type ExperimentStickiness } from '@jelmore/contracts';
import type { ExperimentArm, ExperimentFilter, ExperimentPolicy } from '@jelmore/sessions';
import { invalid, modelName, objectOf } from './routing.config';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `experiments` of the file: `{ <name>: { arms: [{ name?, provider?, model?, weight }], sticky?,
 * filter?: { owners?, query? } } }`. Weights are relative: none negative, their sum positive.
 */
export function loadExperiments(fromFile: unknown, where: string): ExperimentPolicy[] {
  if (fromFile === undefined) return [];
  return Object.entries(objectOf(fromFile, where)).map(([name, raw]) => {
    const at = `${where}.${name}`;
    if (!NAME.test(name)) {
      throw invalid(at, 'is not an experiment name: letters, digits, . _ - (at most 64)');
    }
    const entry = objectOf(raw, at, ['arms', 'sticky', 'filter']);
    const sticky = entry.sticky ?? 'owner';
    if (!EXPERIMENT_STICKINESS.includes(sticky as ExperimentStickiness)) {
      throw invalid(`${at}.sticky`, `must be owner or session (got ${JSON.stringify(sticky)})`);
    }
    return {
      name,
      arms: arms(entry.arms, `${at}.arms`),
      sticky: sticky as ExperimentStickiness,
      ...(entry.filter !== undefined ? { filter: filter(entry.filter, `${at}.filter`) } : {}),
    };
  });
}

function arms(value: unknown, at: string): ExperimentArm[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw invalid(at, 'must be a list of arms: [{ provider?, model?, weight }, ...]');
  }
  const list = value.map((raw, i): ExperimentArm => {
    const armAt = `${at}[${i}]`;
    const arm = objectOf(raw, armAt, ['name', 'provider', 'model', 'weight']);
    const { weight } = arm;
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
      throw invalid(
        `${armAt}.weight`,
        `must be a non-negative number (got ${JSON.stringify(weight)})`,
      );
    }
    const provider =
      arm.provider === undefined
        ? undefined
        : modelName(arm.provider, `${armAt}.provider`, 'a provider name');
    const model = arm.model === undefined ? undefined : modelName(arm.model, `${armAt}.model`);
    const name = arm.name === undefined ? (model ?? provider ?? `arm-${i}`) : arm.name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw invalid(
        `${armAt}.name`,
        `must be letters, digits, . _ - (got ${JSON.stringify(name)})`,
      );
    }
    return { name, ...(provider ? { provider } : {}), ...(model ? { model } : {}), weight };
  });
  const total = list.reduce((sum, arm) => sum + arm.weight, 0);
  if (!(total > 0)) throw invalid(at, `weights must sum to a positive number (got ${total})`);
  const names = list.map((arm) => arm.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice) throw invalid(at, `name the arm '${twice}' twice: give each arm its own name`);
  return list;
}

function filter(value: unknown, at: string): ExperimentFilter {
  const entry = objectOf(value, at, ['owners', 'query']);
  const { owners, query } = entry;
  if (
    owners !== undefined &&
    (!Array.isArray(owners) || !owners.every((o) => typeof o === 'string'))
  ) {
    throw invalid(`${at}.owners`, 'must be a list of API key ids');
  }
  if (query === undefined) return owners ? { owners } : {};
  if (typeof query !== 'string') throw invalid(`${at}.query`, 'must be a regular expression');
  let pattern: RegExp;
  try {
    pattern = new RegExp(query, 'i');
  } catch (err) {
    throw invalid(`${at}.query`, `is not a regular expression (${(err as Error).message})`);
  }
  return { ...(owners ? { owners } : {}), query: pattern };
}
