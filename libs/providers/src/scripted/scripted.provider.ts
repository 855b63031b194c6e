import { Inject, Injectable } from '@nestjs/common';
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
import { ScriptedProcessSession } from './scripted-process.session';
import { ScriptedSession } from './scripted.session';

const SCRIPTED_MODEL: ModelInfo = {
  id: 'scripted',
  aliases: [],
  provider: 'scripted',
  contextWindow: 0,
  inputPricePerMTok: 0,
  outputPricePerMTok: 0,
};

/** The same traffic from a real agent process writing JSON lines on its stdout. */
const SCRIPTED_PROCESS_MODEL: ModelInfo = { ...SCRIPTED_MODEL, id: 'scripted-process' };

const MODELS = [SCRIPTED_MODEL, SCRIPTED_PROCESS_MODEL];

/**
 * A provider whose agents replay scripted traffic with no model behind them: for demos and load tests.
 * Registered like any other, off unless enabled, and never the default. Model `scripted` plays inside
 * the server (thousands cost little); `scripted-process` runs each agent as a child process, as the CLI
 * providers do.
 */
@AgentProvider('scripted')
@Injectable()
export class ScriptedProvider implements AgentProviderPort {
  readonly name = 'scripted';
  readonly autoSelect = false;
  private readonly slots: SessionSlots;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) private readonly options: ProvidersModuleOptions) {
    this.slots = new SessionSlots(this.name, options.scripted.maxConcurrentSessions);
  }

  get capabilities(): ProviderCapabilities {
    return {
      streaming: true,
      tools: false,
      fileOperations: false,
      codeExecution: false,
      multimodal: false,
      documents: false,
      continuation: false,
      // Cuts the turn's replay short (a scripted agent has no conversation to keep).
      interrupt: true,
      steer: false,
      warmStart: false,
      directoryTracking: false,
      maxConcurrentSessions: this.options.scripted.maxConcurrentSessions,
      maxContextTokens: 0,
    };
  }

  models(): ModelInfo[] {
    return MODELS;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    return model === undefined ? SCRIPTED_MODEL : MODELS.find((m) => m.id === model);
  }

  createSession(config: SessionConfig): AgentSession {
    if (!this.options.scripted.enabled) {
      throw new ProviderUnavailableError(
        this.name,
        'disabled in config (JELMORE_SCRIPTED_ENABLED)',
      );
    }
    const model = this.resolveModel(config.model);
    if (!model) throw new ProviderUnavailableError(this.name, `no model ${config.model}`);
    const release = this.slots.take();
    if (model === SCRIPTED_PROCESS_MODEL) {
      // Its process exits only when the session ends (asked for, or a crash that fails the session).
      return new ScriptedProcessSession({ ...config, model: model.id }, (expected) =>
        release(!expected),
      );
    }
    return new ScriptedSession({ ...config, model: model.id }, () => release(false));
  }

  async healthCheck(): Promise<ProviderHealth> {
    const enabled = this.options.scripted.enabled;
    return {
      healthy: enabled,
      ...(enabled ? {} : { reason: 'disabled in config' }),
      checkedAt: new Date().toISOString(),
    };
  }

  metrics(): ProviderMetrics {
    return this.slots.metrics();
  }
}
