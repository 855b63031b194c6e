import type { ConfiguredModel } from '../model-list';

/** Per-model settings of a built-in model that the JSON file may override (keyed by its canonical id). */
export interface OpencodeModelOverride {
  /** The id the OpenAI-compatible endpoint knows the model by, e.g. `deepseek/deepseek-chat`. */
  id?: string;
  contextWindow?: number;
  inputPricePerMTok?: number;
  outputPricePerMTok?: number;
}

/**
 * `providers.opencode.models`: overrides of the built-in models keyed by their ids, or a list of the
 * endpoint's own models (an Ollama, vLLM or llama.cpp server's), which replaces the built-in ones.
 */
export type OpencodeModelsSetting = Record<string, OpencodeModelOverride> | ConfiguredModel[];

export interface OpencodeOptions {
  enabled: boolean;
  /**
   * An `opencode serve` the operator runs, shared by every session and outside Jelmore's sandbox; without
   * it each session gets a sandboxed server of its own. `http://user:password@host:port` for one that
   * asks for a password (OPENCODE_SERVER_PASSWORD).
   */
  apiEndpoint?: string;
  /** The opencode binary; by default the one installed from npm with this package. */
  bin?: string;
  /** The OpenAI-compatible endpoint serving the models (JELMORE_OPENCODE_BASE_URL). */
  baseUrl?: string;
  /** Its key: from the environment only (JELMORE_OPENCODE_API_KEY). */
  apiKey?: string;
  defaultModel: string;
  maxConcurrentSessions: number;
  models: OpencodeModelsSetting;
}

export const DEFAULT_OPENCODE_OPTIONS: OpencodeOptions = {
  enabled: true,
  defaultModel: 'deepseek-v3',
  maxConcurrentSessions: 20,
  models: {},
};

/** The provider id under which Jelmore's models appear in opencode's config. */
export const OPENCODE_PROVIDER_ID = 'jelmore';
