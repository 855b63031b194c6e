import type { AcpAgentConfig } from './acp/acp-config';
import type { ClaudeOptions } from './claude/claude.options';
import type { AgentSandboxSettings } from './process/agent-sandbox';
import type { OpencodeOptions } from './opencode/opencode.options';
import type { CircuitBreakerOptions } from './selection/circuit-breaker';
import type { ProviderRateLimitOptions } from './selection/rate-window';

export interface ProvidersModuleOptions {
  defaultProvider: string;
  /** Prefer the least loaded provider (active / max sessions), round robin among equals. */
  loadBalancing: boolean;
  /** Prefer the cheapest model that meets a session's requirements. */
  costOptimization: boolean;
  circuit: CircuitBreakerOptions;
  /** Where agents keep their own state (HOME, transcripts), so it survives restarts. */
  dataDir: string;
  /** How agent processes are confined; bubblewrap with the host's network when unset. */
  sandbox?: AgentSandboxSettings;
  /**
   * Where sessions' directories are (`<root>/<sessionId>` by default): warm agents wait in theirs.
   * No warm start without it.
   */
  workspaceRoot?: string;
  claude: ClaudeOptions;
  opencode: OpencodeOptions;
  /** The scripted provider (no model: demos and load tests). */
  scripted: { enabled: boolean; maxConcurrentSessions: number };
  /** Agents spoken to over ACP, from the config file's `"type": "acp"` entries (see loadAcpAgents). */
  acpAgents?: AcpAgentConfig[];
  /** Session starts per provider and window; unset: no provider is rate limited. */
  rateLimits?: ProviderRateLimitOptions;
  /**
   * Where provider folders read their own settings (`JELMORE_<NAME>_*`, and JELMORE_CONFIG's
   * `providers.<name>`) through loadProviderSettings; process.env when unset.
   */
  env?: NodeJS.ProcessEnv;
}
