import {
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Min,
} from 'class-validator';
import { parseSetting, type SettingsTable } from '@jelmore/contracts';

/** Who may call the server, how often, and what its agents may reach. */
export const SECURITY_SETTINGS: SettingsTable = {
  apiKeys: {
    env: 'JELMORE_API_KEYS',
    custom: true,
    secret: true,
    rules: [IsArray()],
    description:
      '`id:key[:admin]`, comma-separated: see [Security](security.md#api-keys-ownership-and-limits).',
  },
  apiKeysFile: {
    env: 'JELMORE_API_KEYS_FILE',
    custom: true,
    description:
      'A file of API keys in the same form (mode 0600), read at boot; see [Security](security.md#api-keys-ownership-and-limits).',
  },
  agentSandbox: {
    env: 'JELMORE_AGENT_SANDBOX',
    file: 'agent_sandbox',
    default: 'bwrap',
    rules: [IsIn(['bwrap', 'off'])],
    description:
      "`bwrap`: every agent process in a bubblewrap sandbox, and agents with tools refused without a working one; `off`: agents run unconfined as the server's user. See [docs/security.md](security.md).",
  },
  agentNetwork: {
    env: 'JELMORE_AGENT_NETWORK',
    file: 'agent_network',
    default: 'host',
    rules: [IsIn(['host', 'none'])],
    description:
      "A sandboxed agent's network: `host` (the server's, which it needs for its model API) or `none` (loopback only).",
  },
  keyBudgetsUsd: {
    env: 'JELMORE_KEY_BUDGETS',
    file: 'key_budgets',
    custom: true,
    defaultText: 'none',
    rules: [IsObject()],
    description: 'Cost budgets in USD per API key id: see [Budgets](selection.md).',
  },
  rateLimitPerMinute: {
    env: 'JELMORE_RATE_LIMIT_PER_MINUTE',
    file: 'rate_limit_per_minute',
    parse: parseSetting.int,
    default: 600,
    rules: [IsInt(), Min(1)],
    description:
      'Per API key: REST requests to each route, and Socket.IO client events in all, per minute. See [Security](security.md#api-keys-ownership-and-limits).',
  },
  rateLimitBurst: {
    env: 'JELMORE_RATE_LIMIT_BURST',
    file: 'rate_limit_burst',
    parse: parseSetting.int,
    default: 60,
    rules: [IsInt(), Min(1)],
    description:
      'Per API key: how many of those requests (or events) may come at once; past it they pass at the per-minute rate, spread evenly (a token bucket), and the rest get `RATE_LIMITED` with the seconds until the next.',
  },
  authFailureLimit: {
    env: 'JELMORE_AUTH_FAILURE_LIMIT',
    file: 'auth_failure_limit',
    parse: parseSetting.int,
    default: 20,
    rules: [IsInt(), Min(1)],
    description:
      'Failed authentications (REST and Socket.IO handshakes together) per client address per window; past it the address gets `RATE_LIMITED`.',
  },
  trustProxy: {
    env: 'JELMORE_TRUST_PROXY',
    file: 'trust_proxy',
    rules: [IsOptional()],
    description:
      'Proxies whose `X-Forwarded-For` names the client (REST and Socket.IO): a hop count, or addresses, CIDRs, `loopback`, `linklocal`, `uniquelocal`, comma-separated. Set it behind an ingress or load balancer.',
  },
  allowPrivateNetworks: {
    env: 'JELMORE_ALLOW_PRIVATE_NETWORKS',
    file: 'allow_private_networks',
    parse: parseSetting.bool,
    default: false,
    rules: [IsBoolean()],
    description:
      'URLs an API key registers (webhooks, push endpoints) may reach loopback, private and link-local addresses (a cloud metadata service); off, `400 PRIVATE_ADDRESS`, checked again on connect.',
  },
  rateLimitWindowSeconds: {
    env: 'JELMORE_RATE_LIMIT_WINDOW_SECONDS',
    file: 'rate_limit_window_seconds',
    parse: parseSetting.int,
    default: 60,
    rules: [IsInt(), Min(1)],
    description:
      'The window every rate limit counts over (the "per minute" of this table); shorten it only in tests.',
  },
  providerRateLimits: {
    env: 'JELMORE_PROVIDER_RATE_LIMITS',
    file: 'providers.<name>.sessions_per_minute',
    custom: true,
    defaultText: 'none',
    rules: [IsObject()],
    description:
      'Sessions each provider may start per minute, e.g. `claude:30,opencode:60`; the variable replaces all file values.',
  },
  corsOrigins: {
    env: 'JELMORE_CORS_ORIGINS',
    file: 'cors_origins',
    parse: parseSetting.list,
    default: [],
    defaultText: 'none',
    rules: [IsArray(), IsString({ each: true })],
    description: 'Origins allowed by CORS (REST and Socket.IO), comma-separated.',
  },
};
