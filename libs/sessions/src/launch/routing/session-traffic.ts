import { Inject, Injectable } from '@nestjs/common';
import {
  ErrorCode,
  type ExperimentAssignment,
  JelmoreError,
  type SessionRouting,
} from '@jelmore/contracts';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import type { ContentCapability } from '../../attachments/attachments.service';
import { SESSIONS_MODULE_OPTIONS } from '../../sessions.module-definition';
import type { SessionsModuleOptions } from '../../sessions.options';
import type { CreateSessionInput } from '../../sessions.types';
import { selectFor, type Selection } from '../provider-candidates';
import { ComplexityRouter, queryText } from './complexity-router';
import { armFor, filterMatches } from './experiment-arms';
import type { ExperimentArm, ExperimentPolicy, ModelTarget } from './traffic-policies';

/** A new session's candidates, and what the traffic policies decided on the way. */
export interface TrafficChoice {
  selection: Selection;
  routing?: SessionRouting;
  experiment?: ExperimentAssignment;
  /** Its arm came from a hash of the id it was given: it keeps that id (no agent started ahead). */
  keepsId: boolean;
}

/**
 * Applies the traffic policies to a new session before selection: its experiment's arm (named, or by
 * a filter) names its provider and model; routing by complexity names a model when none is named yet.
 */
@Injectable()
export class SessionTraffic {
  private readonly experiments: readonly ExperimentPolicy[];

  constructor(
    private readonly selector: ProviderSelector,
    private readonly registry: ProviderRegistry,
    private readonly router: ComplexityRouter,
    @Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions,
  ) {
    this.experiments = options.traffic?.experiments ?? [];
  }

  /** Refuses an unknown experiment (EXPERIMENT_NOT_FOUND); `id` is the session's, if it keeps it. */
  async select(
    input: CreateSessionInput,
    needs: readonly ContentCapability[],
    id: string,
  ): Promise<TrafficChoice> {
    const enrolled = this.enroll(input, id);
    // An arm's provider and model replace those the client named: it asked to take part.
    const named: CreateSessionInput = enrolled
      ? {
          ...input,
          provider: enrolled.arm.provider ?? input.provider,
          model: enrolled.arm.model ?? input.model,
        }
      : input;
    const experiment = enrolled && { name: enrolled.policy.name, arm: enrolled.arm.name };
    const keepsId = enrolled?.key === id;
    const { target, routing: routed } =
      named.model === undefined ? await this.route(named, id) : {};
    let routing = routed;
    let selection: Selection;
    try {
      selection = selectFor(this.selector, this.registry, { ...named, ...target }, needs);
    } catch (err) {
      // The tier's model cannot take this session (its needs, health): the server chooses as without routing.
      if (!target || !routing || !(err instanceof JelmoreError)) throw err;
      selection = selectFor(this.selector, this.registry, named, needs);
      routing = withReason(
        routing,
        `${target.model} cannot take it (${err.message}): the server's choice`,
      );
    }
    return {
      selection,
      ...(routing ? { routing } : {}),
      ...(experiment ? { experiment } : {}),
      keepsId,
    };
  }

  /**
   * The tier and its model for a session that named no model. With only a provider named, that
   * provider must serve the model; else it keeps its default model, and the reason says so.
   */
  private async route(
    named: CreateSessionInput,
    id: string,
  ): Promise<{ target?: ModelTarget; routing?: SessionRouting }> {
    const routed = await this.router.route(named.query, named.owner, id);
    if (!routed?.target) return { routing: routed?.routing };
    const { target, routing } = routed;
    const { provider } = named;
    if (provider === undefined) return { target, routing };
    const serves =
      (target.provider === undefined || target.provider === provider) &&
      this.registry.has(provider) &&
      this.registry.get(provider).resolveModel(target.model) !== undefined;
    if (serves) return { target: { provider, model: target.model }, routing };
    return {
      routing: withReason(routing, `${provider} does not serve ${target.model}: its default model`),
    };
  }

  private enroll(
    input: CreateSessionInput,
    id: string,
  ): { policy: ExperimentPolicy; arm: ExperimentArm; key: string } | undefined {
    let policy: ExperimentPolicy | undefined;
    if (input.experiment !== undefined) {
      policy = this.experiments.find((e) => e.name === input.experiment);
      if (!policy) {
        throw new JelmoreError(
          ErrorCode.ExperimentNotFound,
          `No experiment '${input.experiment}' is configured`,
        );
      }
    } else if (
      input.provider === undefined &&
      input.model === undefined &&
      this.experiments.length > 0
    ) {
      // Only sessions that leave the choice to the server take part unasked.
      const { text } = queryText(input.query);
      policy = this.experiments.find((e) => e.filter && filterMatches(e.filter, input.owner, text));
    }
    if (!policy) return undefined;
    const key = policy.sticky === 'owner' && input.owner !== undefined ? input.owner : id;
    return { policy, arm: armFor(policy, key), key };
  }
}

function withReason(routing: SessionRouting, why: string): SessionRouting {
  return { ...routing, reason: routing.reason ? `${routing.reason}; ${why}` : why };
}
