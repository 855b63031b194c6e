import type { ProviderRegistry } from '@jelmore/providers';
import type { ModelTarget, TrafficPolicies } from '@jelmore/sessions';
import { loadExperiments } from './experiments.config';
import { invalid, loadRouting } from './routing.config';

/** The traffic policies, and where each was configured (for errors that come once providers are known). */
export interface TrafficConfig extends TrafficPolicies {
  where: { routing: string; experiments: string };
}

/** `routing` (or JELMORE_ROUTING) and `experiments` of the file, checked for shape. */
export function loadTraffic(
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
  fileName = 'JELMORE_CONFIG',
): TrafficConfig {
  const where = {
    routing: env.JELMORE_ROUTING?.trim() ? 'JELMORE_ROUTING' : `${fileName}: routing`,
    experiments: `${fileName}: experiments`,
  };
  const routing = loadRouting(env.JELMORE_ROUTING, file.routing, `${fileName}: routing`);
  return {
    ...(routing ? { routing } : {}),
    experiments: loadExperiments(file.experiments, where.experiments),
    where,
  };
}

/**
 * Every model a tier or an arm names must be served by a registered provider (by the one it names, if
 * it names one). Checked once the providers are registered: a ConfigError stops the boot.
 */
export function checkTrafficModels(traffic: TrafficConfig, registry: ProviderRegistry): void {
  const check = (target: ModelTarget, at: string) => {
    if (target.provider !== undefined && !registry.has(target.provider)) {
      throw invalid(
        at,
        `names provider '${target.provider}', which is not one of ${registry.list().join(', ')}`,
      );
    }
    if (target.model === undefined) return;
    const model = target.model;
    const serving = (target.provider !== undefined ? [target.provider] : registry.list()).filter(
      (name) => registry.get(name).resolveModel(model) !== undefined,
    );
    if (serving.length === 0) {
      throw invalid(
        at,
        `names model '${model}', which ${target.provider ?? 'no provider'} ${target.provider ? 'does not serve' : 'serves'}`,
      );
    }
  };
  for (const [tier, target] of Object.entries(traffic.routing?.tiers ?? {})) {
    check(target, `${traffic.where.routing}.complexity.tiers.${tier}`);
  }
  for (const experiment of traffic.experiments) {
    experiment.arms.forEach((arm, i) =>
      check(arm, `${traffic.where.experiments}.${experiment.name}.arms[${i}]`),
    );
  }
}
