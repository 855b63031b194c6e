import { Logger } from '@nestjs/common';
import { accessSync, constants, existsSync, realpathSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import {
  AgentProviderPort,
  AgentSession,
  ModelInfo,
  PERMISSION_POLICIES,
  PermissionPolicy,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
  ProviderUnavailableError,
  SessionConfig,
} from '@jelmore/contracts';
import { tenantHome } from '../process/agent-home';
import { AGENT_BASE_ENV, allowListedEnv } from '../process/agent-process';
import { AgentSandbox, installRoot, sessionView } from '../process/agent-sandbox';
import { SessionSlots } from '../session-slots';
import type { AcpAgentConfig } from './acp-config';
import type { AcpPromptStyle } from './acp-prompt';
import { localAgentCapabilities, requireModel } from '../local-agent';

/** What an ACP agent provider needs besides its config entry. */
export interface AcpHost {
  /** `<data dir>/agents/<name>`: a home per tenant below it. */
  agentRoot: string;
  sandbox: AgentSandbox;
  /**
   * A preset's part of one session's launch: arguments after the entry's, variables over the entry's;
   * it may write the agent's settings into the tenant's home.
   */
  launch?: (session: AcpSessionLaunch) => { args?: string[]; env?: Record<string, string> };
  /** What a preset's agent does otherwise than ACP lets Jelmore assume (as its tests measure it). */
  capabilities?: Partial<ProviderCapabilities>;
  /** How a preset's agent wants images and documents in a prompt. */
  promptStyle?: AcpPromptStyle;
  /** A preset's own reason no session can start (e.g. no API key). */
  refusal?: () => string | undefined;
  /** The server's environment, for PATH lookup and the allow-listed variables. */
  env?: NodeJS.ProcessEnv;
}

/** How long a session's failure keeps the provider unhealthy. */
const FAILURE_MEMORY_MS = 60_000;

/** What a preset's launch hook knows of the session. */
export interface AcpSessionLaunch {
  model: ModelInfo;
  policy: PermissionPolicy;
  home: string;
}

/**
 * An agent spoken to over the Agent Client Protocol, from a config entry (or a preset): one process
 * per session, sandboxed like every agent, with its own HOME per tenant under the data dir. Healthy
 * while its command is there and its last session did not fail on its own.
 */
export class AcpAgentProvider implements AgentProviderPort {
  readonly name: string;
  readonly autoSelect: boolean;
  readonly processNames: readonly string[];
  private readonly slots: SessionSlots;
  private lastFailure?: { reason: string; at: string };
  private agentVersion?: string;
  private readonly logger = new Logger(AcpAgentProvider.name);
  /** Said once: every session of an agent that takes no HTTP MCP servers would say it again. */
  private mcpRefusalLogged = false;

  constructor(
    private readonly agent: AcpAgentConfig,
    private readonly host: AcpHost,
  ) {
    this.name = agent.name;
    this.autoSelect = agent.options.autoSelect;
    this.processNames = [agent.options.command];
    this.slots = new SessionSlots(this.name, agent.options.maxConcurrentSessions);
  }

  get capabilities(): ProviderCapabilities {
    // Resume is session/load where the agent offers it (else refused with the reason); interrupt is
    // session/cancel, the agent ending the turn as cancelled and keeping what was said. Images and PDFs
    // are what the entry says its model takes: the agent announces its own only once started.
    const { input } = this.agent.options;
    return localAgentCapabilities(this.agent.options.maxConcurrentSessions, this.agent.models, {
      permissions: PERMISSION_POLICIES,
      multimodal: input.includes('image'),
      documents: input.includes('pdf'),
      ...this.host.capabilities,
    });
  }

  models(): ModelInfo[] {
    return this.agent.models;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    const wanted = model ?? this.agent.options.defaultModel;
    if (wanted === undefined) return this.agent.models[0];
    return this.agent.models.find((m) => m.id === wanted || m.aliases.includes(wanted));
  }

  createSession(config: SessionConfig): AgentSession {
    const refusal = this.refusal();
    if (refusal) throw new ProviderUnavailableError(this.name, refusal);
    this.host.sandbox.assertUsable(this.name);
    const model = requireModel(this, config.model);
    const command = this.command()!;
    const home = tenantHome(this.host.agentRoot, config.tenant);
    const policy = config.permissions ?? this.agent.options.defaultPermissions;
    const preset = this.host.launch?.({ model, policy, home }) ?? {};
    const release = this.slots.take();
    const script = /\.(c|m)?js$/.test(command);
    const args = [...this.agent.options.args, ...(preset.args ?? [])];
    // The ACP SDK builds a zod schema of every message as it loads (~20 MB of RSS): a server whose
    // sessions never use an ACP agent never loads it. The first session pays ~0.1–0.3 s, once.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AcpSession } = require('./acp.session') as typeof import('./acp.session');
    return new AcpSession(config, model, {
      provider: this.name,
      command: script ? process.execPath : command,
      args: script ? [command, ...args] : args,
      env: {
        ...allowListedEnv(this.host.env ?? process.env, AGENT_BASE_ENV),
        HOME: home,
        ...this.agent.options.env,
        ...preset.env,
      },
      sandbox: {
        sandbox: this.host.sandbox,
        view: sessionView(
          {
            writable: [home],
            readOnly: commandFiles(command),
            // Whether or not the agent asks before it writes, it cannot write here.
            readOnlyCwd: policy === 'deny-writes',
          },
          config.mounts,
        ),
      },
      policy,
      promptStyle: this.host.promptStyle ?? {},
      startTimeoutMs: this.agent.options.startTimeoutSeconds * 1000,
      onOpened: (agent) => {
        this.lastFailure = undefined;
        if (agent.version) this.agentVersion = `${agent.name ?? this.name} ${agent.version}`;
      },
      onFailed: (reason) => (this.lastFailure = { reason, at: new Date().toISOString() }),
      onEnd: release,
      onMcpRefused: () => {
        if (this.mcpRefusalLogged) return;
        this.mcpRefusalLogged = true;
        this.logger.warn(
          `${this.name}: the agent announced no mcpCapabilities.http at initialize, so its sessions get no MCP server (no delegation)`,
        );
      },
    });
  }

  async healthCheck(): Promise<ProviderHealth> {
    // A failure counts for a while: selection skips an unhealthy provider, so a sticky one would never
    // get the session that shows it works again. The circuit breaker handles repeated failures.
    if (this.lastFailure && Date.now() - Date.parse(this.lastFailure.at) > FAILURE_MEMORY_MS) {
      this.lastFailure = undefined;
    }
    const reason = this.refusal() ?? this.host.sandbox.refusal() ?? this.lastFailure?.reason;
    return {
      healthy: !reason,
      ...(reason ? { reason } : {}),
      ...(this.agentVersion ? { version: this.agentVersion } : {}),
      checkedAt: this.lastFailure?.at ?? new Date().toISOString(),
    };
  }

  metrics(): ProviderMetrics {
    return this.slots.metrics();
  }

  /** Why no session can start now (disabled, no command), before the sandbox's say. */
  private refusal(): string | undefined {
    if (!this.agent.options.enabled) return 'disabled in config';
    const preset = this.host.refusal?.();
    if (preset) return preset;
    if (!this.command()) {
      return `command '${this.agent.options.command}' not found (a path, or a name in the server's PATH)`;
    }
    return undefined;
  }

  /** The command as an absolute path, found in PATH when it is a bare name; undefined when missing. */
  private command(): string | undefined {
    const { command } = this.agent.options;
    const script = /\.(c|m)?js$/.test(command);
    const candidates = command.includes(sep)
      ? [resolve(command)]
      : (this.host.env?.PATH ?? process.env.PATH ?? '')
          .split(delimiter)
          .filter((dir) => isAbsolute(dir))
          .map((dir) => join(dir, command));
    return candidates.find((path) => {
      try {
        accessSync(path, script ? constants.R_OK : constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  }
}

/**
 * What a sandboxed agent must see of its own install, read-only, and no more: a binary's npm package
 * folder (it needs its siblings) or the binary alone; a script alone, with every `node_modules` above it
 * (where its imports resolve). Never the folder around it: that may hold the workspaces or the data dir.
 */
function commandFiles(command: string): string[] {
  const real = existsSync(command) ? realpathSync(command) : command;
  const script = /\.(c|m)?js$/.test(real);
  if (!script) return [real.includes(`${sep}node_modules${sep}`) ? installRoot(real) : real];
  const shown = [real];
  for (let dir = dirname(real); dir !== dirname(dir); dir = dirname(dir)) {
    const modules = join(dir, 'node_modules');
    if (existsSync(modules)) shown.push(modules);
  }
  return shown;
}
