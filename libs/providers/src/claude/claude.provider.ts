import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AgentProviderPort,
  AgentSession,
  ModelInfo,
  PERMISSION_POLICIES,
  PermissionPolicy,
  ProviderCapabilities,
  ProviderHealth,
  ProviderMetrics,
  SessionConfig,
  SuspendedState,
  WarmSessionRequest,
} from '@jelmore/contracts';
import { AgentProvider } from '../agent-provider.decorator';
import { SessionSlots } from '../session-slots';
import { AGENT_BASE_ENV, allowListedEnv } from '../process/agent-process';
import { tenantHome } from '../process/agent-home';
import { AgentSandbox, sessionView, sharedSandbox } from '../process/agent-sandbox';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { CachedBinaryCheck } from '../process/binary-check';
import { checkClaudeBinary, defaultClaudeBin } from './claude-binary';
import { claudePermissionLaunch } from './claude-permissions';
import { CLAUDE_MODELS, resolveClaudeModel } from './claude.models';
import {
  claudeTranscriptPath,
  cutTranscript,
  findClaudeTranscript,
  readTranscript,
  writeTranscriptAtomically,
} from './claude-transcript';
import { ClaudeCodeSession, ClaudeLaunch } from './claude.session';
import { WarmPool } from './warm-pool';
import {
  readyBinary,
  localAgentCapabilities,
  localAgentHealth,
  requireModel,
} from '../local-agent';

/** What the agent may see of the server's environment: its own API settings and basics, no server secrets. */
const CLAUDE_ENV_ALLOW_LIST = [...AGENT_BASE_ENV, 'ANTHROPIC_*', 'CLAUDE_CODE_*'] as const;

@AgentProvider('claude')
@Injectable()
export class ClaudeCodeProvider implements AgentProviderPort, OnModuleInit, OnModuleDestroy {
  readonly name = 'claude';
  readonly processNames = ['claude'];
  private readonly logger = new Logger(ClaudeCodeProvider.name);
  private readonly bin: string | undefined;
  /** `<data dir>/agents/claude`: tenants' homes, and warm agents' own. */
  private readonly home: string;
  private readonly sandbox: AgentSandbox;
  private readonly binary: CachedBinaryCheck;
  private readonly slots: SessionSlots;
  /** CLI processes started ahead for new sessions (JELMORE_CLAUDE_WARM_POOL_SIZE). */
  private pool?: WarmPool<ClaudeCodeSession>;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) private readonly options: ProvidersModuleOptions) {
    this.bin = options.claude.bin ?? defaultClaudeBin();
    this.binary = new CachedBinaryCheck(() => checkClaudeBinary(this.bin));
    this.home = join(options.dataDir, 'agents', 'claude');
    this.sandbox = sharedSandbox(options.sandbox);
    this.slots = new SessionSlots(this.name, options.claude.maxConcurrentSessions);
  }

  get capabilities(): ProviderCapabilities {
    return claudeCapabilities(this.options.claude.maxConcurrentSessions);
  }

  async onModuleInit(): Promise<void> {
    await this.healthCheck();
    if (this.binary.last.ok)
      this.logger.log(`Claude Code CLI ${this.binary.last.version} at ${this.bin}`);
    else this.logger.warn(`Claude provider unhealthy: ${this.binary.last.reason}`);
    this.startWarmPool();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool?.close();
  }

  models(): ModelInfo[] {
    return CLAUDE_MODELS;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    return resolveClaudeModel(model ?? this.options.claude.defaultModel);
  }

  createSession(config: SessionConfig): AgentSession {
    const missing = this.options.claude.enabled ? undefined : 'disabled in config';
    const bin = readyBinary(this.name, missing, this.bin, this.binary, this.sandbox);
    const model = requireModel(this, config.model);
    const release = this.slots.take();
    const settings = { ...config, model: model.id };
    // A session's process may restart after a crash: it holds its slot until its first exit.
    const onExit = (expected: boolean) => release(!expected);
    const warm = this.pool?.take(settings, onExit);
    if (warm) return warm;
    const home = this.homeOf(config);
    return new ClaudeCodeSession(settings, this.launch(bin, config, home, onExit));
  }

  claimWarmSession(request: WarmSessionRequest): string | undefined {
    return this.pool?.claim(request);
  }

  /**
   * Copies the parent's transcript, cut after its `turn`-th turn, into the target's home as the
   * transcript of a conversation named after the new session; the new agent resumes it (--resume finds
   * it in any project folder). Turn 0: a conversation of its own, started at the first input.
   */
  async forkConversation(
    parent: SuspendedState,
    turn: number,
    target: SessionConfig,
  ): Promise<SuspendedState> {
    const state = { provider: this.name, model: parent.model, cwd: target.cwd };
    if (turn === 0) return state;
    const ref = parent.providerRef ?? '';
    const source = ref ? findClaudeTranscript(this.homesOf(ref, target.tenant), ref) : undefined;
    const forked = cutTranscript(await readTranscript(source, ref), turn, target.sessionId);
    const home = this.homeOf(target);
    await writeTranscriptAtomically(
      claudeTranscriptPath(home, target.cwd, target.sessionId),
      forked,
    );
    return { ...state, providerRef: target.sessionId };
  }

  /**
   * Cuts the suspended session's transcript back to its first `turn` turns, in place. Turn 0 leaves no
   * conversation: the transcript goes, and the next input starts one afresh under the session's id.
   */
  async rewindConversation(
    state: SuspendedState,
    turn: number,
    config: SessionConfig,
  ): Promise<SuspendedState> {
    const ref = state.providerRef ?? '';
    const path = ref ? findClaudeTranscript(this.homesOf(ref, config.tenant), ref) : undefined;
    if (turn !== 0) {
      await writeTranscriptAtomically(path!, cutTranscript(await readTranscript(path, ref), turn));
      return state;
    }
    if (path) await rm(path, { force: true });
    const fresh = { ...state };
    delete fresh.providerRef;
    return fresh;
  }

  async healthCheck(): Promise<ProviderHealth> {
    const missing = this.options.claude.enabled ? undefined : 'disabled in config';
    const health = await localAgentHealth(missing, this.binary, this.sandbox.refusal());
    // A pool that lost processes while the binary was broken fills again once it works.
    if (health.healthy) void this.pool?.fill();
    return health;
  }

  metrics(): ProviderMetrics {
    const warmPool = this.pool?.metrics();
    return { ...this.slots.metrics(), ...(warmPool ? { warmPool } : {}) };
  }

  /** Warm start for sessions of the default model, settings and directory (docs/providers/claude.md). */
  private startWarmPool(): void {
    const { enabled, warmPoolSize, defaultModel } = this.options.claude;
    const root = this.options.workspaceRoot;
    if (!enabled || warmPoolSize <= 0 || !this.bin || this.sandbox.refusal()) return;
    if (!root) {
      this.logger.warn('Claude warm pool off: the providers module has no workspaceRoot');
      return;
    }
    const bin = this.bin;
    mkdirSync(root, { recursive: true });
    this.pool = new WarmPool<ClaudeCodeSession>({
      size: warmPoolSize,
      // Sessions' directories are resolved against the root's real path: so must the pool's be.
      root: realpathSync(root),
      model: this.resolveModel()!.id,
      create: (config, onExit) =>
        new ClaudeCodeSession(
          config,
          this.launch(bin, config, this.warmHome(config.sessionId), onExit),
        ),
    });
    this.logger.log(`Claude warm pool: ${warmPoolSize} process(es) of ${defaultModel}`);
    if (this.binary.last.ok) void this.pool.fill();
  }

  /**
   * A session's agent home: its tenant's, or, for a session that began in a warm agent, that agent's own
   * (`warm/<session id>`: the agent started before its tenant was known, and its transcript is there).
   */
  private homeOf(config: SessionConfig): string {
    const warm = join(this.home, 'warm', config.sessionId);
    return existsSync(warm) ? warm : tenantHome(this.home, config.tenant);
  }

  /** Where conversation `ref` may be: a warm agent's own home (its id is the session's), its tenant's. */
  private homesOf(ref: string, tenant: string | undefined): string[] {
    const warm = join(this.home, 'warm', ref);
    return [...(existsSync(warm) ? [warm] : []), tenantHome(this.home, tenant)];
  }

  private warmHome(sessionId: string): string {
    const home = join(this.home, 'warm', sessionId);
    mkdirSync(home, { recursive: true });
    return home;
  }

  private launch(
    bin: string,
    config: SessionConfig,
    home: string,
    onExit: ClaudeLaunch['onExit'],
  ): ClaudeLaunch {
    return {
      bin,
      env: this.agentEnv(config.permissions, home),
      options: this.options.claude,
      onExit,
      // Its workspace (where a later process may start in a subfolder the agent went to) and its home.
      sandbox: {
        sandbox: this.sandbox,
        view: sessionView({ writable: [config.cwd, home] }, config.mounts),
      },
    };
  }

  private agentEnv(permissions: PermissionPolicy | undefined, home: string): NodeJS.ProcessEnv {
    return {
      ...allowListedEnv(process.env, CLAUDE_ENV_ALLOW_LIST),
      // The agent's own state lives under the server's data dir, so transcripts survive restarts.
      HOME: home,
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      ...claudePermissionLaunch(permissions, this.options.claude).env,
    };
  }
}

/** What the Claude provider can do with this session limit: its `capabilities`, and the API's example. */
export function claudeCapabilities(maxConcurrentSessions: number): ProviderCapabilities {
  // Interrupt: a control_request; the CLI ends the turn and keeps it in the conversation. Warm start:
  // the warm pool (JELMORE_CLAUDE_WARM_POOL_SIZE above 0).
  return localAgentCapabilities(maxConcurrentSessions, CLAUDE_MODELS, {
    warmStart: true,
    // Image and PDF blocks reach the model API as sent (test/multimodal-claude.e2e-spec.ts).
    multimodal: true,
    documents: true,
    directoryTracking: true,
    // Both by copying and cutting the CLI's transcript (claude-transcript.ts).
    fork: true,
    rewind: true,
    permissions: PERMISSION_POLICIES,
  });
}
