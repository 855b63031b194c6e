import type { SessionState } from '@jelmore/contracts';

/**
 * The other nodes of a cluster (a `SessionsCluster`), provided by the app in cluster mode only: without it
 * every session is this node's.
 */
export const SESSIONS_CLUSTER = Symbol('SESSIONS_CLUSTER');

/** States in which an agent process may still be running for a session. */
export const LIVE_STATES: readonly SessionState[] = ['starting', 'running', 'idle'];
