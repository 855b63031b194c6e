import type { PushConfig } from '../config/policies/push.config';

export const PUSH_OPTIONS = Symbol('PUSH_OPTIONS');
/** Wall-clock ms the action tokens' expiry is read against; tests provide one to move time on. */
export const PUSH_CLOCK = Symbol('PUSH_CLOCK');

export interface PushOptions extends PushConfig {
  /** Where a generated key pair is kept (`vapid.json`). */
  dataDir: string;
  /** Nodes share subscriptions: each must sign with the same pair (env), not its own file's. */
  clustered: boolean;
  /** API keys that are told of every key's sessions. */
  adminOwners: string[];
  /** Endpoints may be on loopback or private networks (JELMORE_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: boolean;
}
