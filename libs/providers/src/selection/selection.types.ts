import type { AgentProviderPort, ModelInfo, ProviderCapabilities } from '@jelmore/contracts';

/** The boolean capabilities a session can require. */
export const CAPABILITY_NAMES = [
  'streaming',
  'tools',
  'fileOperations',
  'codeExecution',
  'multimodal',
  'documents',
  'continuation',
  'interrupt',
  'steer',
  'directoryTracking',
] as const satisfies readonly (keyof ProviderCapabilities)[];
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

export interface SessionRequirements {
  capabilities?: CapabilityName[];
  /** The session needs at least this much context. */
  minContextTokens?: number;
  /** Prefer the cheapest model that meets the requirements, even when cost optimization is off. */
  costSensitive?: boolean;
  /** Prefer the most capable (priciest) model. */
  premiumFeatures?: boolean;
}

export interface SelectionRequest {
  provider?: string;
  model?: string;
  requirements?: SessionRequirements;
}

/** A provider and the model a session would run on it. */
export interface ProviderCandidate {
  provider: AgentProviderPort;
  model: ModelInfo;
}

/**
 * A custom selection: given the candidates the built-in rules left (in their order) and the request,
 * the name of the provider to use, or null to let the built-in order decide.
 */
export type SelectionAlgorithm = (
  candidates: readonly ProviderCandidate[],
  request: SelectionRequest,
) => string | null;

/** DI token for a SelectionAlgorithm provided by the app. */
export const SELECTION_ALGORITHM = Symbol('JELMORE:SELECTION_ALGORITHM');
