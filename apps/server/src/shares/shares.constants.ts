import type { SharesConfig } from '../config/policies/shares.config';

export const SHARES_OPTIONS = Symbol('SHARES_OPTIONS');

export interface SharesOptions extends SharesConfig {
  /** The operator's extra redaction patterns (middleware.redactor.patterns): a share view uses them too. */
  redactPatterns: readonly string[];
  /** Paths under it are shown relative to it in a share view. */
  workspaceRoot: string;
  /** How often a live share stream checks the store that its link still holds (revoked on another node). */
  recheckMs?: number;
  /** Wall-clock ms; tests move it on. */
  now?: () => number;
}
