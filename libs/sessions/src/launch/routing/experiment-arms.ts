import { createHash } from 'node:crypto';
import type { ExperimentArm, ExperimentFilter, ExperimentPolicy } from './traffic-policies';

/** Where a sticky key falls in [0, 1): the first 48 bits of SHA-256 of the experiment's name and the key. */
export function stickyPoint(experiment: string, key: string): number {
  // The name is hashed too, so that one owner's arms in two experiments are independent.
  const digest = createHash('sha256').update(`${experiment}\n${key}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The arm a sticky key (an owner id or a session id) gets, by weight: always the same one for the same
 * key while the experiment's arms and weights stay as they are.
 */
export function armFor(experiment: ExperimentPolicy, key: string): ExperimentArm {
  const total = experiment.arms.reduce((sum, arm) => sum + arm.weight, 0);
  let at = stickyPoint(experiment.name, key) * total;
  for (const arm of experiment.arms) {
    if (at < arm.weight) return arm;
    at -= arm.weight;
  }
  // Only floating-point rounding gets here: the last arm that takes sessions.
  return experiment.arms.findLast((arm) => arm.weight > 0) ?? experiment.arms[0];
}

/** Whether a session of `owner` whose first query's text is `text` meets every condition of the filter. */
export function filterMatches(
  filter: ExperimentFilter,
  owner: string | undefined,
  text: string,
): boolean {
  if (filter.owners && (owner === undefined || !filter.owners.includes(owner))) return false;
  return !filter.query || filter.query.test(text);
}
