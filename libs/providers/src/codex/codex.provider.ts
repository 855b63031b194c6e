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
import { allowListedEnv } from '../process/agent-process';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { SessionSlots } from '../session-slots';
import { CachedBinaryCheck } from '../process/binary-check';
import { checkCodexBinary, defaultCodexBin } from './codex-binary';
import { CODEX_KEY_ENV, codexConfigToml } from './codex-config';
import { CODEX_MODELS, resolveCodexModel } from './codex.models';
import { CodexSession } from './codex.session';
import { CodexSettings, loadCodexSettings } from './codex.settings';

/** What the agent may see of the server's environment: basics and proxies, no server secrets. */
const CODEX_ENV_ALLOW_LIST = [
  'PATH',
  'LANG',
  'LC_*',
  'TZ',
  'TMPDIR',
  'TERM',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'SSL_CERT_FILE',
] as const;

/**
 * The OpenAI Codex CLI (`@openai/codex`) against an OpenAI Responses API endpoint: one
 * `codex exec --json` process per turn, a session being a Codex thread resumed by id. Off until
 * JELMORE_CODEX_BASE_URL names the endpoint; its settings are its own (codex.settings.ts).
 */
@AgentProvider('codex')
@Injectable()
export class CodexProvider implements AgentProviderPort, OnModuleInit {
  readonly name = 'codex';
  private readonly logger = new Logger(CodexProvider.name);
  private readonly settings: CodexSettings;
  private readonly bin: string | undefined;
  private readonly home: string;
  private readonly codexHome: string;
  private readonly slots: SessionSlots;
  private readonly binary: CachedBinaryCheck;
  private configWritten = false;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) options: ProvidersModuleOptions) {
    this.settings = loadCodexSettings(options.env);
    this.bin = this.settings.bin ?? defaultCodexBin();
    this.binary = new CachedBinaryCheck(() => checkCodexBinary(this.bin));
    this.home = join(options.dataDir, 'agents', 'codex');
    this.codexHome = join(this.home, '.codex');
    this.slots = new SessionSlots(this.name, this.settings.maxConcurrentSessions);
  }

  get capabilities(): ProviderCapabilities {
    return {
      // Events stream as the agent works, but each message arrives whole: exec prints no text deltas.
      streaming: true,
      tools: true,
      fileOperations: true,
      codeExecution: true,
      multimodal: false,
      continuation: true,
      directoryTracking: false,
      maxConcurrentSessions: this.settings.maxConcurrentSessions,
      maxContextTokens: Math.max(...CODEX_MODELS.map((m) => m.contextWindow)),
    };
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
    const missing = this.missingSetting();
    if (missing) throw new ProviderUnavailableError(this.name, missing);
    if (!this.binary.last.ok || !this.bin) {
      throw new ProviderUnavailableError(this.name, this.binary.last.reason ?? 'binary not found');
    }
    const model = resolveCodexModel(config.model ?? this.settings.defaultModel);
    if (!model) throw new ProviderUnavailableError(this.name, `no model ${config.model}`);
    this.writeConfig();
    const release = this.slots.take();
    return new CodexSession(config, model, {
      bin: this.bin,
      env: this.agentEnv(),
      codexHome: this.codexHome,
      onEnd: (unexpected) => release(unexpected),
    });
  }

  async healthCheck(): Promise<ProviderHealth> {
    const missing = this.missingSetting();
    if (missing) return { healthy: false, reason: missing, checkedAt: new Date().toISOString() };
    const binary = await this.binary.check();
    return {
      healthy: binary.ok,
      reason: binary.reason,
      version: binary.version,
      checkedAt: this.binary.checkedAt,
    };
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

  /** Codex reads its settings from `$CODEX_HOME/config.toml`: ours, rewritten once per server start. */
  private writeConfig(): void {
    if (this.configWritten) return;
    mkdirSync(this.codexHome, { recursive: true });
    writeFileSync(
      join(this.codexHome, 'config.toml'),
      codexConfigToml({
        baseUrl: this.settings.baseUrl!,
        model: this.settings.defaultModel,
        sandbox: this.settings.sandbox,
      }),
    );
    this.configWritten = true;
  }

  private agentEnv(): NodeJS.ProcessEnv {
    return {
      ...allowListedEnv(process.env, CODEX_ENV_ALLOW_LIST),
      // The agent's own state lives under the server's data dir, so threads survive restarts.
      HOME: this.home,
      CODEX_HOME: this.codexHome,
      // Codex refuses to start without the key variable its config names; a local endpoint needs none.
      [CODEX_KEY_ENV]: this.settings.apiKey ?? 'none',
    };
  }
}
