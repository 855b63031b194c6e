import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
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
import { SessionSlots } from '../session-slots';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { MAX_OUTPUT_TOKENS, opencodeModels } from './opencode.models';
import { OPENCODE_PROVIDER_ID, OpencodeOptions } from './opencode.options';
import { OpencodeServer } from './opencode-server';
import { OpencodeSession } from './opencode.session';

@AgentProvider('opencode')
@Injectable()
export class OpencodeProvider implements AgentProviderPort, OnModuleInit, OnModuleDestroy {
  readonly name = 'opencode';
  private readonly logger = new Logger(OpencodeProvider.name);
  private readonly options: OpencodeOptions;
  private readonly modelList: ModelInfo[];
  private readonly server: OpencodeServer;
  private readonly slots: SessionSlots;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) options: ProvidersModuleOptions) {
    this.options = options.opencode;
    this.modelList = opencodeModels(this.options.models);
    this.slots = new SessionSlots(this.name, this.options.maxConcurrentSessions);
    const home = join(options.dataDir, 'agents', 'opencode');
    this.server = new OpencodeServer({
      endpoint: this.options.apiEndpoint,
      bin: this.options.bin,
      home,
      config: this.opencodeConfig(),
    });
  }

  get capabilities(): ProviderCapabilities {
    return {
      streaming: true,
      tools: true,
      fileOperations: true,
      codeExecution: true,
      multimodal: false,
      continuation: true,
      directoryTracking: false,
      maxConcurrentSessions: this.options.maxConcurrentSessions,
      maxContextTokens: Math.max(...this.modelList.map((m) => m.contextWindow)),
    };
  }

  /** Starts the server in the background when it can serve models, so the first session is not slowed. */
  onModuleInit(): void {
    const missing = this.missingSetting();
    if (missing) {
      this.logger.log(`OpenCode provider idle: ${missing}`);
      return;
    }
    this.server.ready().then(
      (url) => this.logger.log(`opencode server at ${url}`),
      (err: unknown) => this.logger.warn(`opencode server did not start: ${String(err)}`),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.server.stop();
  }

  models(): ModelInfo[] {
    return this.modelList;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    const wanted = model ?? this.options.defaultModel;
    return this.modelList.find((m) => m.id === wanted || m.aliases.includes(wanted));
  }

  createSession(config: SessionConfig): AgentSession {
    const missing = this.missingSetting();
    if (missing) throw new ProviderUnavailableError(this.name, missing);
    const model = this.resolveModel(config.model);
    if (!model) throw new ProviderUnavailableError(this.name, `no model ${config.model}`);
    return new OpencodeSession(config, model, this.server, this.slots.take());
  }

  async healthCheck(): Promise<ProviderHealth> {
    const missing = this.missingSetting();
    const health = missing ? { healthy: false, reason: missing } : await this.server.health();
    return { ...health, checkedAt: new Date().toISOString() };
  }

  metrics(): ProviderMetrics {
    return this.slots.metrics();
  }

  private missingSetting(): string | undefined {
    if (!this.options.enabled) return 'disabled in config';
    if (!this.options.apiEndpoint && !this.options.baseUrl) {
      return 'no model endpoint: set JELMORE_OPENCODE_BASE_URL (or JELMORE_OPENCODE_API_ENDPOINT)';
    }
    return undefined;
  }

  /** opencode's config: our models behind the OpenAI-compatible endpoint, headless and offline. */
  private opencodeConfig(): Record<string, unknown> {
    const models = Object.fromEntries(
      this.modelList.map((m) => [
        m.id,
        {
          name: m.id,
          tool_call: true,
          limit: { context: m.contextWindow, output: MAX_OUTPUT_TOKENS },
          cost: { input: m.inputPricePerMTok, output: m.outputPricePerMTok },
        },
      ]),
    );
    const defaultModel = this.resolveModel()?.id ?? this.modelList[0].id;
    return {
      autoupdate: false,
      share: 'disabled',
      model: `${OPENCODE_PROVIDER_ID}/${defaultModel}`,
      small_model: `${OPENCODE_PROVIDER_ID}/${defaultModel}`,
      provider: {
        [OPENCODE_PROVIDER_ID]: {
          name: 'Jelmore',
          npm: '@ai-sdk/openai-compatible',
          options: { baseURL: this.options.baseUrl, apiKey: this.options.apiKey ?? 'none' },
          models,
        },
      },
      // Headless: nobody answers a question, and a prompt for a path outside the session would block.
      permission: {
        question: 'deny',
        external_directory: 'deny',
        doom_loop: 'deny',
        webfetch: 'deny',
      },
      tools: { question: false, webfetch: false },
    };
  }
}
