import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { join } from 'node:path';
import {
  AgentProviderPort,
  AgentSession,
  ModelInfo,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
  SessionConfig,
} from '@jelmore/contracts';
import { AgentProvider } from '../agent-provider.decorator';
import { AGENT_BASE_ENV, allowListedEnv } from '../process/agent-process';
import { CachedBinaryCheck, checkBinary } from '../process/binary-check';
import { loadProviderSettings } from '../provider-settings';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { SessionSlots } from '../session-slots';
import { tenantHome } from '../process/agent-home';
import { AgentSandbox, installRoot, sessionView, sharedSandbox } from '../process/agent-sandbox';
import { GEMINI_MODELS, resolveGeminiModel } from './gemini.models';
import { DEFAULT_GEMINI_OPTIONS, GEMINI_SETTINGS, GeminiOptions } from './gemini.options';
import { GeminiSession } from './gemini.session';
import { defaultGeminiBin, geminiCliEnv, writeGeminiSettings } from './gemini-cli';
import { GeminiMcpLaunch, removeGeminiMcpExtension, writeGeminiMcpExtension } from './gemini-mcp';
import {
  readyBinary,
  localAgentCapabilities,
  localAgentHealth,
  requireModel,
} from '../local-agent';

@AgentProvider('gemini')
@Injectable()
export class GeminiProvider implements AgentProviderPort, OnModuleInit {
  readonly name = 'gemini';
  readonly processNames = ['gemini'];
  private readonly logger = new Logger(GeminiProvider.name);
  private readonly options: GeminiOptions;
  private readonly bin: string | undefined;
  /** `<data dir>/agents/gemini`: a home per tenant below it. */
  private readonly home: string;
  private readonly slots: SessionSlots;
  private readonly binary: CachedBinaryCheck;
  private readonly sandbox: AgentSandbox;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) providers: ProvidersModuleOptions) {
    this.options = loadProviderSettings(
      'gemini',
      GeminiOptions,
      GEMINI_SETTINGS,
      DEFAULT_GEMINI_OPTIONS,
      providers.env ?? process.env,
    );
    this.bin = this.options.bin ?? defaultGeminiBin();
    // The CLI keeps its chats under HOME: in the data dir they survive restarts, and --resume finds them.
    this.home = join(providers.dataDir, 'agents', 'gemini');
    this.slots = new SessionSlots(this.name, this.options.maxConcurrentSessions);
    this.sandbox = sharedSandbox(providers.sandbox);
    this.binary = new CachedBinaryCheck(() => {
      return checkBinary(this.bin, {
        label: 'Gemini CLI',
        notFound: 'Gemini CLI not found: install @google/gemini-cli or set JELMORE_GEMINI_BIN',
        env: this.agentEnv(this.prepareHome(undefined)),
        nodeScript: this.bin?.endsWith('.js'),
      });
    });
  }

  get capabilities(): ProviderCapabilities {
    // Interrupt: the turn's process ends; the next turn resumes the chat, the interrupted prompt in it.
    return localAgentCapabilities(this.options.maxConcurrentSessions, GEMINI_MODELS);
  }

  async onModuleInit(): Promise<void> {
    const health = await this.healthCheck();
    if (health.healthy) this.logger.log(`Gemini CLI ${health.version} at ${this.bin}`);
    else this.logger.log(`Gemini provider idle: ${health.reason}`);
  }

  models(): ModelInfo[] {
    return GEMINI_MODELS;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    return resolveGeminiModel(model ?? this.options.defaultModel);
  }

  createSession(config: SessionConfig): AgentSession {
    const bin = readyBinary(this.name, this.missingSetting(), this.bin, this.binary, this.sandbox);
    const model = requireModel(this, config.model);
    const home = this.prepareHome(config.tenant);
    const release = this.slots.take();
    const mcp = this.mcpLaunch(home, config, release);
    // The npm package's entry is a script: run it with this node rather than whatever PATH finds.
    const script = bin.endsWith('.js');
    return new GeminiSession(config, model, {
      command: script ? process.execPath : bin,
      baseArgs: script ? [bin] : [],
      env: { ...this.agentEnv(home), ...mcp.env },
      approvalMode: this.options.approvalMode,
      mcpArgs: mcp.args,
      onEnd: (failed) => {
        removeGeminiMcpExtension(mcp);
        release(failed);
      },
      sandbox: {
        sandbox: this.sandbox,
        view: sessionView(
          { writable: [home], readOnly: script ? [installRoot(bin)] : [] },
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
    if (!this.options.enabled) return 'disabled in config';
    if (!this.options.apiKey) return 'no API key: set JELMORE_GEMINI_API_KEY';
    return undefined;
  }

  /** The session's MCP servers for its runs; the slot goes back if they cannot be written. */
  private mcpLaunch(
    home: string,
    config: SessionConfig,
    release: (failed: boolean) => void,
  ): GeminiMcpLaunch {
    try {
      return writeGeminiMcpExtension(
        home,
        config.sessionId,
        config.mcpServers,
        this.options.approvalMode,
      );
    } catch (err) {
      release(false);
      throw err;
    }
  }

  /** The tenant's home with our CLI settings in it. */
  private prepareHome(tenant: string | undefined): string {
    const home = tenantHome(this.home, tenant);
    writeGeminiSettings(home);
    return home;
  }

  private agentEnv(home: string): NodeJS.ProcessEnv {
    return {
      ...allowListedEnv(process.env, AGENT_BASE_ENV),
      HOME: home,
      ...geminiCliEnv(this.options),
    };
  }
}
