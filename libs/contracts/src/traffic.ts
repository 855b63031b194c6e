import type { Usage } from './events';

/** How routing by complexity chose a session's model (docs/selection.md#routing-by-complexity). */
export interface SessionRouting {
  /**
   * The tier the built-in scorer or the operator's classifier chose; `default` when the classifier
   * failed and the session got the provider's default model.
   */
  tier: string;
  /** The built-in scorer's points, or the classifier's score when it gave one. */
  score?: number;
  /** Why: the scorer's signals, the classifier's reason, or why the tier's model was not used. */
  reason?: string;
}

/** The A/B experiment a session takes part in, and its arm. */
export interface ExperimentAssignment {
  name: string;
  arm: string;
}

/** How an experiment keeps a session's arm: the same for all of an owner's sessions, or per session. */
export const EXPERIMENT_STICKINESS = ['owner', 'session'] as const;
export type ExperimentStickiness = (typeof EXPERIMENT_STICKINESS)[number];

/** One arm's figures in `GET /v1/experiments/:name`. */
export interface ExperimentArmReport {
  name: string;
  provider?: string;
  model?: string;
  weight: number;
  sessions: number;
  /** Sessions with a live agent now. */
  active: number;
  /** Turns that ended (results). */
  turns: number;
  /** Sessions that ended `failed`. */
  failures: number;
  usage: Usage;
  /** Of the turns that ran to their end (interrupted ones left out) whose events are still kept; null: none. */
  medianTurnMs: number | null;
}

/** `GET /v1/experiments/:name`: an admin key's counts every key's sessions, another key's its own. */
export interface ExperimentReport {
  name: string;
  sticky: ExperimentStickiness;
  arms: ExperimentArmReport[];
}
