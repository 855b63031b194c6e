import {
  AgentSession,
  PermissionPolicy,
  ProviderUnavailableError,
  RateLimitedError,
  SessionConfig,
  ValidationError,
} from '@jelmore/contracts';
import type { ProviderCandidate, ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import type { ContentCapability } from '../attachments/attachments.service';
import { assertTakes } from '../runtime/session-turns.service';
import type { CreateSessionInput } from '../sessions.types';

/** What a selection offers: candidates best first, and why others were passed over. */
export interface Selection {
  candidates: ProviderCandidate[];
  skipped: string[];
}

/** The candidate that took the session, its agent, and what a later fallback needs. */
export interface OpenedAgent extends ProviderCandidate {
  agent: AgentSession;
  /** The status event's reason when an earlier candidate was passed over. */
  fallback?: string;
  /** The candidates after this one, and why those before it were passed over. */
  rest: ProviderCandidate[];
  skipped: string[];
}

/**
 * The candidates for a new session whose first turn `needs` images or PDFs: those able to take them.
 * Naming a provider that cannot, or a model only such providers serve, is the client's mistake (400).
 */
export function selectFor(
  selector: ProviderSelector,
  registry: ProviderRegistry,
  input: CreateSessionInput,
  needs: readonly ContentCapability[],
): Selection {
  if (needs.length > 0 && input.provider) assertTakes(registry.get(input.provider), needs);
  else if (needs.length > 0 && input.model) {
    const serving = registry
      .list()
      .map((name) => registry.get(name))
      .filter((provider) => provider.resolveModel(input.model));
    if (serving.length > 0 && !serving.some((p) => needs.every((c) => p.capabilities[c]))) {
      assertTakes(serving[0], needs);
    }
  }
  const required = new Set([...(input.requirements?.capabilities ?? []), ...needs]);
  return selector.select({
    provider: input.provider,
    model: input.model,
    requirements: { ...input.requirements, capabilities: [...required] },
  });
}

/**
 * The first candidate that takes the session. One that is unavailable (disabled, unhealthy binary,
 * at capacity) is skipped; the reason is kept for the session's first status event. With a
 * permission policy, only providers that enforce it are candidates.
 */
export function openFirst(
  selector: ProviderSelector,
  selection: Selection,
  config: Omit<SessionConfig, 'model'>,
): OpenedAgent {
  const { candidates, skipped } = enforcing(selection, config.permissions);
  const overRate: RateLimitedError[] = [];
  for (const [index, candidate] of candidates.entries()) {
    try {
      const admitted = selector.admitStart(candidate.provider.name);
      const agent = candidate.provider.createSession({ ...config, model: candidate.model.id });
      admitted();
      selector.circuit(candidate.provider.name).begin();
      const fallback = skipped.length
        ? `fell back to ${candidate.provider.name}: ${skipped.join('; ')}`
        : undefined;
      return { ...candidate, agent, fallback, rest: candidates.slice(index + 1), skipped };
    } catch (err) {
      if (err instanceof RateLimitedError) {
        overRate.push(err);
        skipped.push(`${candidate.provider.name} rate limited (${err.message})`);
      } else if (err instanceof ProviderUnavailableError) {
        skipped.push(`${candidate.provider.name} unavailable (${err.message})`);
      } else throw err;
      if (candidates.length === 1) throw err;
    }
  }
  if (overRate.length === candidates.length) {
    throw new RateLimitedError(
      `Every candidate is over its session rate: ${skipped.join('; ')}`,
      Math.min(...overRate.map((e) => e.retryAfter)),
    );
  }
  throw new ProviderUnavailableError('any', `every candidate refused: ${skipped.join('; ')}`);
}

/** The candidates that enforce the policy (others are left out unmentioned); refused when none does. */
function enforcing(selection: Selection, permissions: PermissionPolicy | undefined): Selection {
  const skipped = [...selection.skipped];
  if (!permissions) return { candidates: selection.candidates, skipped };
  const able = selection.candidates.filter((c) =>
    c.provider.capabilities.permissions?.includes(permissions),
  );
  if (able.length === 0 && selection.candidates.length > 0) {
    const names = [...new Set(selection.candidates.map((c) => c.provider.name))];
    throw new ValidationError(
      `permissions '${permissions}' is not enforced by ${names.join(', ')}`,
    );
  }
  return { candidates: able, skipped };
}
