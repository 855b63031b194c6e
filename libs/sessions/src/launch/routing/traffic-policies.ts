import type { ExperimentStickiness, SessionRouting } from '@jelmore/contracts';

/** A model a tier or an arm names: an id or alias some provider serves, on a given provider or any. */
export interface ModelTarget {
  provider?: string;
  model?: string;
}

/** `routing.complexity`: the model of each tier; a tier left out keeps the provider's default model. */
export interface ComplexityRoutingPolicy {
  tiers: Record<string, ModelTarget & { model: string }>;
}

export interface ExperimentArm extends ModelTarget {
  /** Its label in reports and metrics: the configured name, else its model or provider. */
  name: string;
  /** Its share of the sessions, relative to the other arms' (0: none). */
  weight: number;
}

/** Which sessions that name no provider and no model take part without naming the experiment. */
export interface ExperimentFilter {
  /** Owners (API key ids) whose sessions take part. */
  owners?: readonly string[];
  /** Sessions whose first query's text matches. */
  query?: RegExp;
}

export interface ExperimentPolicy {
  name: string;
  arms: readonly ExperimentArm[];
  sticky: ExperimentStickiness;
  /** Absent: only sessions created with `experiment: <name>` take part. */
  filter?: ExperimentFilter;
}

/** The traffic policies of the server's configuration (`routing`, `experiments`). */
export interface TrafficPolicies {
  routing?: ComplexityRoutingPolicy;
  /** In the configuration's order: a session the filters of several match takes part in the first. */
  experiments: readonly ExperimentPolicy[];
}

/** What a classifier is asked: the first query's text, and the tiers it may answer. */
export interface ClassifierRequest {
  text: string;
  /** Images and documents in the query. */
  attachments: number;
  owner?: string;
  tiers: readonly string[];
}

/** A classifier's answer: one of the configured tiers, with a score and a reason if it likes. */
export type ComplexityVerdict = SessionRouting;

/**
 * Chooses a new session's tier in place of the built-in scorer; provide it under
 * COMPLEXITY_CLASSIFIER (or ComplexityRouter.setClassifier). An answer that is not one of the
 * configured tiers, a throw, or no answer within CLASSIFIER_TIMEOUT_MS: the provider's default model.
 */
export type ComplexityClassifier = (
  request: ClassifierRequest,
) => ComplexityVerdict | Promise<ComplexityVerdict>;
