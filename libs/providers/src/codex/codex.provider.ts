import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AgentProviderPort,
  AgentSession,
  ModelInfo,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
  ProviderUnavailableError,
  SessionConfig,
} from '@jelmore/contracts';
import { AgentProvider } from '../agent-provider.decorator';
import { AGENT_BASE_ENV, allowListedEnv } from '../process/agent-process';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { SessionSlots } from '../session-slots';
import { tenantHome } from '../process/agent-home';
import { AgentSandbox, sessionView, sharedSandbox } from '../process/agent-sandbox';
import { CachedBinaryCheck } from '../process/binary-check';
import { checkCodexBinary, defaultCodexBin } from './codex-binary';
import { CODEX_KEY_ENV, codexConfigToml, codexMcpLaunch } from './codex-config';
import { CODEX_MODELS, resolveCodexModel } from './codex.models';
import { CodexSession } from './codex.session';
import { CodexSettings, loadCodexSettings } from './codex.settings';
import { readyBinary, localAgentCapabilities, localAgentHealth } from '../local-agent';

/** What the agent may see of the server's environment: basics and proxies, no server secrets. */
const CODEX_ENV_ALLOW_LIST = [...AGENT_BASE_ENV, 'SSL_CERT_FILE'] as const;

/**
 * The OpenAI Codex CLI (`@openai/codex`) against an OpenAI Responses API endpoint: one
 * `codex exec --json` process per turn, a session being a Codex thread resumed by id. Off until
 * JELMORE_CODEX_BASE_URL names the endpoint; its settings are its own (codex.settings.ts).
 */
@AgentProvider('codex')
@Injectable()
export class CodexProvider implements AgentProviderPort, OnModuleInit {
  readonly name = 'codex';
  readonly processNames = ['codex'];
  private readonly logger = new Logger(CodexProvider.name);
  private readonly settings: CodexSettings;
  private readonly bin: string | undefined;
  private readonly home: string;
  private readonly slots: SessionSlots;
  private readonly binary: CachedBinaryCheck;
  private readonly sandbox: AgentSandbox;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) options: ProvidersModuleOptions) {
    this.settings = loadCodexSettings(options.env);
    this.bin = this.settings.bin ?? defaultCodexBin();
    this.binary = new CachedBinaryCheck(() => checkCodexBinary(this.bin));
    // A home per tenant below it: its threads (rollouts) are seen by its own agents only.
    this.home = join(options.dataDir, 'agents', 'codex');
    this.sandbox = sharedSandbox(options.sandbox);
    this.slots = new SessionSlots(this.name, this.settings.maxConcurrentSessions);
  }

  get capabilities(): ProviderCapabilities {
    // Events stream as the agent works, but each message arrives whole: exec prints no text deltas.
    // Interrupt: SIGINT to the turn's `codex exec`; the thread records the abort and goes on from it.
    // Images go as `--image` files (test/codex-multimodal.e2e-spec.ts); exec mode has no document input.
    return localAgentCapabilities(this.settings.maxConcurrentSessions, CODEX_MODELS, {
      multimodal: true,
    });
  }

  async onModuleInit(): Promise<void> {
    const missing = this.missingSetting();
    if (missing) {
      this.logger.log(`Codex provider idle: ${missing}`);
      return;
    }
    await this.healthCheck();
    if (this.binary.last.ok) this.logger.log(`${this.binary.last.version} at ${this.bin}`);
    else this.logger.warn(`Codex provider unhealthy: ${this.binary.last.reason}`);
  }

  models(): ModelInfo[] {
    return CODEX_MODELS;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    return resolveCodexModel(model ?? this.settings.defaultModel);
  }

  createSession(config: SessionConfig): AgentSession {
    const bin = readyBinary(this.name, this.missingSetting(), this.bin, this.binary, this.sandbox);
    const model = resolveCodexModel(config.model ?? this.settings.defaultModel);
    if (!model) throw new ProviderUnavailableError(this.name, `no model ${config.model}`);
    const home = tenantHome(this.home, config.tenant);
    const codexHome = this.writeConfig(home);
    const mcp = codexMcpLaunch(config.mcpServers);
    const release = this.slots.take();
    return new CodexSession(config, model, {
      bin,
      env: { ...this.agentEnv(home, codexHome), ...mcp.env },
      codexHome,
      mcpArgs: mcp.args,
      imageDir: join(home, 'images', config.sessionId),
      onEnd: (unexpected) => release(unexpected),
      sandbox: {
        sandbox: this.sandbox,
        view: sessionView(
          { writable: [home], readOnlyCwd: this.settings.sandbox === 'read-only' },
          config.mounts,
        ),
      },
    });
  }

  healthCheck(): Promise<ProviderHealth> {
    return localAgentHealth(this.missingSetting(), this.binary, this.sandbox.refusal());
  }

  metrics(): ProviderMetrics {
    return this.slots.metrics();
  }

  private missingSetting(): string | undefined {
    if (!this.settings.enabled) return 'disabled in config (JELMORE_CODEX_ENABLED)';
    if (!this.settings.baseUrl) {
      return 'no model endpoint: set JELMORE_CODEX_BASE_URL (an OpenAI Responses API base URL)';
    }
    return undefined;
  }

  /** Codex reads its settings from `$CODEX_HOME/config.toml`: ours, rewritten for each session. */
  private writeConfig(home: string): string {
    const codexHome = join(home, '.codex');
    mkdirSync(codexHome, { recursive: true });
    writeFileSync(
      join(codexHome, 'config.toml'),
      codexConfigToml({
        baseUrl: this.settings.baseUrl!,
        model: this.settings.defaultModel,
        // Codex's own sandbox is bwrap too, and cannot mount its /proc inside ours: ours confines the
        // commands then, with the workspace read-only for `read-only`.
        sandbox: this.sandbox.active ? 'danger-full-access' : this.settings.sandbox,
      }),
    );
    return codexHome;
  }

  private agentEnv(home: string, codexHome: string): NodeJS.ProcessEnv {
    return {
      ...allowListedEnv(process.env, CODEX_ENV_ALLOW_LIST),
      // The agent's own state lives under the server's data dir, so threads survive restarts.
      HOME: home,
      CODEX_HOME: codexHome,
      // Codex refuses to start without the key variable its config names; a local endpoint needs none.
      [CODEX_KEY_ENV]: this.settings.apiKey ?? 'none',
    };
  }
}
