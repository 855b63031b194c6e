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
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProvider } from '../agent-provider.decorator';
import { SessionSlots } from '../session-slots';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { keptTurns, promptsOf, ScriptedMemory, scriptedRef } from './scripted-memory';
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
  /** Running agents' conversations by providerRef: a fork of one that runs reads it as it is. */
  private readonly live = new Map<string, ScriptedMemory>();

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
      // Its conversation is the list of its prompts ([[memory]]), kept in the suspended state.
      continuation: true,
      // Cuts the turn's replay short; the turn stays in the conversation.
      interrupt: true,
      steer: false,
      warmStart: false,
      directoryTracking: false,
      fork: true,
      rewind: true,
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
    const ref = scriptedRef(config.sessionId);
    const memory = new ScriptedMemory();
    this.live.set(ref, memory);
    const forget = () => {
      if (this.live.get(ref) === memory) this.live.delete(ref);
    };
    if (model === SCRIPTED_PROCESS_MODEL) {
      // Its process exits only when the session ends (asked for, or a crash that fails the session).
      return new ScriptedProcessSession({ ...config, model: model.id }, memory, (expected) => {
        forget();
        release(!expected);
      });
    }
    return new ScriptedSession({ ...config, model: model.id }, memory, () => {
      forget();
      release(false);
    });
  }

  /** The parent's first `turn` prompts (as it runs, or as it was suspended), for the target session. */
  async forkConversation(
    parent: SuspendedState,
    turn: number,
    target: SessionConfig,
  ): Promise<SuspendedState> {
    const running = parent.providerRef ? this.live.get(parent.providerRef) : undefined;
    const prompts = keptTurns(running?.turns ?? promptsOf(parent), turn);
    return {
      provider: this.name,
      model: parent.model,
      cwd: target.cwd,
      providerRef: scriptedRef(target.sessionId),
      data: { prompts },
    };
  }

  async rewindConversation(state: SuspendedState, turn: number): Promise<SuspendedState> {
    return { ...state, data: { ...state.data, prompts: keptTurns(promptsOf(state), turn) } };
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
