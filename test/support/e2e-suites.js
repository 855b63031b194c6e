/** What the e2e sequencer (test/e2e-sequencer.js) and the OpenCode lock (./one-opencode-at-a-time.js) share. */

/** Suites that start OpenCode servers: at most one of them runs at a time. */
const HEAVY_SUITES =
  /^(opencode|sandbox|delegation|selection|local-models|budget-and-start-fallback|multimodal-acp)[^/]*\.e2e-spec\.ts$/;

/**
 * Seconds each suite took (two workers on a 2-core machine; an OpenCode suite less its wait for the
 * lock): the plan's durations on a clean clone (CI), where Jest has no timings of its own yet. Refresh
 * them when suites change much: a wrong one costs time, never a failure.
 */
const ESTIMATED_SECONDS = {
  'gemini-acp.e2e-spec.ts': 70,
  'opencode-session.e2e-spec.ts': 40,
  'opencode-acp.e2e-spec.ts': 36,
  'cluster.e2e-spec.ts': 27,
  'gemini-session.e2e-spec.ts': 23,
  'sandbox.e2e-spec.ts': 21,
  'selection.e2e-spec.ts': 19,
  'opencode-fork.e2e-spec.ts': 18,
  'client.e2e-spec.ts': 17,
  'dashboard.e2e-spec.ts': 14,
  'cli.e2e-spec.ts': 12,
  'budget-and-start-fallback.e2e-spec.ts': 11,
  'multimodal-acp.e2e-spec.ts': 11,
  'local-models.e2e-spec.ts': 11,
  'traffic-policies.e2e-spec.ts': 11,
  'nats.e2e-spec.ts': 11,
  'permissions-timeout-and-restarts.e2e-spec.ts': 11,
  'cli-history.e2e-spec.ts': 11,
  'response-cache.e2e-spec.ts': 11,
  'multimodal-cli.e2e-spec.ts': 11,
  'fuzz.e2e-spec.ts': 10,
  'fork-checkpoints.e2e-spec.ts': 9,
  'mcp.e2e-spec.ts': 9,
  'delegation-codex-gemini.e2e-spec.ts': 9,
  'auth-limits.e2e-spec.ts': 9,
  'worktree-recovery.e2e-spec.ts': 9,
  'session-lifecycle.e2e-spec.ts': 8,
  'slow-consumer.e2e-spec.ts': 8,
  'delegation.e2e-spec.ts': 7,
  'shares.e2e-spec.ts': 7,
  'dashboard-children.e2e-spec.ts': 7,
  'security.e2e-spec.ts': 7,
  'web-push.e2e-spec.ts': 6,
  'asyncapi.e2e-spec.ts': 6,
  'webhooks.e2e-spec.ts': 6,
  'webhooks-cluster.e2e-spec.ts': 6,
  'restart.e2e-spec.ts': 6,
  'crash-recovery.e2e-spec.ts': 6,
  'private-networks.e2e-spec.ts': 6,
  'permissions-replies-and-policies.e2e-spec.ts': 5,
  'opencode-multimodal.e2e-spec.ts': 5,
  'acp-agents.e2e-spec.ts': 5,
  'codex-session.e2e-spec.ts': 5,
  'cleanup.e2e-spec.ts': 5,
  'input-modes.e2e-spec.ts': 5,
  'warm-pool.e2e-spec.ts': 5,
  'bad-input.e2e-spec.ts': 5,
  'permissions-cluster.e2e-spec.ts': 5,
  'web-push-cluster.e2e-spec.ts': 5,
  'tenant-workspaces.e2e-spec.ts': 4,
  'middleware.e2e-spec.ts': 4,
  'claude-session.e2e-spec.ts': 4,
  'codex-multimodal.e2e-spec.ts': 4,
  'request-limits.e2e-spec.ts': 4,
  'rate-limit.e2e-spec.ts': 3,
  'deep-payload.e2e-spec.ts': 3,
  'postgres-store.e2e-spec.ts': 3,
  'tenant-metrics.e2e-spec.ts': 3,
  'multimodal-claude.e2e-spec.ts': 2,
  'deploy-files.e2e-spec.ts': 1,
  'multimodal-bad-input.e2e-spec.ts': 1,
  'openapi.e2e-spec.ts': 1,
};

module.exports = { HEAVY_SUITES, ESTIMATED_SECONDS };
