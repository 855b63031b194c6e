import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { existsSync } from 'node:fs';
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
  SessionMounts,
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProvider } from '../agent-provider.decorator';
import { tenantHome } from '../process/agent-home';
import { allowListedEnv } from '../process/agent-process';
import { AgentSandbox, sharedSandbox } from '../process/agent-sandbox';
import { CachedBinaryCheck, checkBinary } from '../process/binary-check';
import { SessionSlots } from '../session-slots';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { ConfiguredModel, listedModel } from '../model-list';
import { opencodeModels } from './opencode.models';
import { OpencodeOptions } from './opencode.options';
import { opencodeConfig } from './opencode-config';
import { forkOpencodeSession } from './opencode-fork';
import { launchOpencodeServer } from './opencode-launch';
import { defaultOpencodeBin, OpencodeServer } from './opencode-server';
import { OpencodeSession } from './opencode.session';
import { localAgentCapabilities, localAgentHealth, requireModel } from '../local-agent';

/** Each `opencode --version` is a Bun start (about a second of CPU); health is asked every 15 s. */
const BINARY_CHECK_TTL_MS = 10 * 60_000;

/**
 * OpenCode through `opencode serve`'s HTTP API. Each session gets a server of its own, sandboxed like
 * every agent (its workspace and its tenant's home): one server runs the tools of every session it holds,
 * so sharing one would share everything its tools can reach. JELMORE_OPENCODE_API_ENDPOINT names an
 * operator's server instead, shared by all sessions and outside Jelmore's sandbox.
 */
@AgentProvider('opencode')
@Injectable()
export class OpencodeProvider implements AgentProviderPort, OnModuleInit, OnApplicationShutdown {
  readonly name = 'opencode';
  readonly processNames = ['opencode'];
  private readonly logger = new Logger(OpencodeProvider.name);
  private readonly options: OpencodeOptions;
  /** As opencode's config gets them (display names, output limits). */
  private readonly modelList: ConfiguredModel[];
  /** As selection and GET /v1/providers see them. */
  private readonly listed: ModelInfo[];
  private readonly slots: SessionSlots;
  private readonly sandbox: AgentSandbox;
  /** `<data dir>/agents/opencode`: tenants' homes, and the session servers' pid files. */
  private readonly root: string;
  private readonly bin: string | undefined;
  private readonly binary: CachedBinaryCheck;
  /** The operator's server (JELMORE_OPENCODE_API_ENDPOINT), when there is one. */
  private readonly external?: OpencodeServer;
  /** Sessions' own servers, while they run. */
  private readonly servers = new Set<OpencodeServer>();
  /** Said once: every delegating session on the operator's server would say it again. */
  private mcpRefusalLogged = false;

  constructor(@Inject(PROVIDERS_MODULE_OPTIONS) options: ProvidersModuleOptions) {
    this.options = options.opencode;
    this.modelList = opencodeModels(this.options.models);
    this.listed = this.modelList.map(listedModel);
    this.slots = new SessionSlots(this.name, this.options.maxConcurrentSessions);
    this.sandbox = sharedSandbox(options.sandbox);
    this.root = join(options.dataDir, 'agents', 'opencode');
    this.bin = this.options.bin ?? defaultOpencodeBin();
    this.binary = new CachedBinaryCheck(
      () =>
        checkBinary(this.bin, {
          label: 'opencode',
          notFound: 'opencode not found: install opencode-ai or set JELMORE_OPENCODE_BIN',
          env: { ...allowListedEnv(process.env, ['PATH', 'LANG', 'LC_*']), HOME: this.root },
        }),
      BINARY_CHECK_TTL_MS,
    );
    if (this.options.apiEndpoint)
      this.external = new OpencodeServer({ endpoint: this.options.apiEndpoint });
  }

  get capabilities(): ProviderCapabilities {
    // Interrupt: the server's abort; the session keeps the interrupted turn.
    // Images and PDFs go as data-URL file parts, which reach the model API byte for byte
    // (test/opencode-multimodal.e2e-spec.ts).
    // Fork and rewind: opencode's own session fork, which copies messages and touches no file (its
    // revert would restore files from its own snapshots, beside Jelmore's restore).
    return localAgentCapabilities(this.options.maxConcurrentSessions, this.listed, {
      multimodal: true,
      documents: true,
      fork: true,
      rewind: true,
    });
  }

  async onModuleInit(): Promise<void> {
    const missing = this.missingSetting();
    if (missing) {
      this.logger.log(`OpenCode provider idle: ${missing}`);
      return;
    }
    if (this.external) {
      this.logger.warn(
        `opencode at ${this.external.endpointUrl}: an external server, shared by every session and not sandboxed by Jelmore`,
      );
      this.external.ready().catch((err: unknown) => {
        this.logger.warn(`opencode server not reachable yet: ${String(err)}`);
      });
      return;
    }
    const health = await this.healthCheck();
    if (health.healthy) this.logger.log(`opencode ${health.version} at ${this.bin}`);
    else this.logger.warn(`OpenCode provider unhealthy: ${health.reason}`);
  }

  /** After the sessions were suspended (beforeApplicationShutdown): what still runs ends. */
  async onApplicationShutdown(): Promise<void> {
    const servers = [...this.servers, ...(this.external ? [this.external] : [])];
    await Promise.all(servers.map((server) => server.stop()));
  }

  models(): ModelInfo[] {
    return this.listed;
  }

  resolveModel(model?: string): ModelInfo | undefined {
    const wanted = model ?? this.options.defaultModel;
    return this.listed.find((m) => m.id === wanted || m.aliases.includes(wanted));
  }

  createSession(config: SessionConfig): AgentSession {
    this.assertReady();
    const model = requireModel(this, config.model);
    const release = this.slots.take();
    if (this.external && config.mcpServers?.length) this.refuseMcp();
    const server = this.external ?? this.sessionServer(config);
    return new OpencodeSession(config, model, {
      server,
      dedicated: !this.external,
      onEnd: (unexpected) => {
        this.servers.delete(server);
        release(unexpected);
      },
    });
  }

  /**
   * A fork of the parent's opencode session into the target's directory (see forkOpencodeSession), made
   * on a server of the target's own for the while (the parent's may run: they share the tenant's data).
   */
  async forkConversation(
    parent: SuspendedState,
    turn: number,
    target: SessionConfig,
  ): Promise<SuspendedState> {
    // That server also reads the parent's directory: opencode resolves the fork's project from it.
    const source = existsSync(parent.cwd) && parent.cwd !== target.cwd ? [parent.cwd] : [];
    const id = await this.withServer(target, source, (server) =>
      forkOpencodeSession(server, parent.providerRef, turn, target.cwd),
    );
    return { provider: this.name, model: parent.model, cwd: target.cwd, providerRef: id };
  }

  /**
   * A suspended session's conversation cut back to `turn`: a fork of its opencode session up to there,
   * which the session continues instead (the old one stays in opencode's data, untouched).
   */
  async rewindConversation(
    state: SuspendedState,
    turn: number,
    config: SessionConfig,
  ): Promise<SuspendedState> {
    const id = await this.withServer(config, [], (server) =>
      forkOpencodeSession(server, state.providerRef, turn, config.cwd),
    );
    return { ...state, providerRef: id };
  }

  async healthCheck(): Promise<ProviderHealth> {
    const missing = this.missingSetting();
    if (!missing && this.external) {
      return { ...(await this.external.health()), checkedAt: new Date().toISOString() };
    }
    return localAgentHealth(missing, this.binary, this.sandbox.refusal(), this.unreachable());
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

  /** Throws ProviderUnavailableError when no session (or fork) can be served now. */
  private assertReady(): void {
    const missing = this.missingSetting();
    if (missing) throw new ProviderUnavailableError(this.name, missing);
    if (this.external) return;
    if (!this.binary.last.ok) {
      throw new ProviderUnavailableError(this.name, this.binary.last.reason ?? 'not found');
    }
    this.sandbox.assertUsable(this.name);
    const unreachable = this.unreachable();
    if (unreachable) throw new ProviderUnavailableError(this.name, unreachable);
  }

  /** Runs `work` on the operator's server, or on one started for it in `config`'s place, then ended. */
  private async withServer<T>(
    config: SessionConfig,
    alsoReadOnly: string[],
    work: (server: OpencodeServer) => Promise<T>,
  ): Promise<T> {
    this.assertReady();
    if (this.external) return work(this.external);
    const mounts: SessionMounts = {
      ...config.mounts,
      readOnly: [...(config.mounts?.readOnly ?? []), ...alsoReadOnly],
    };
    // It runs no turn: no MCP server, nor its token.
    const server = this.sessionServer(
      { ...config, mcpServers: undefined },
      mounts,
      `${config.sessionId}.history`,
    );
    try {
      return await work(server);
    } finally {
      await server.stop();
      this.servers.delete(server);
    }
  }

  /**
   * opencode reads MCP servers from its config, which is the server's and so every session's on the
   * operator's: a session's servers (its token) cannot be given to it alone, so it gets none.
   */
  private refuseMcp(): void {
    if (this.mcpRefusalLogged) return;
    this.mcpRefusalLogged = true;
    this.logger.warn(
      'opencode: sessions on the external server (JELMORE_OPENCODE_API_ENDPOINT) get no MCP server (no delegation): its config, where opencode reads them, is shared by every session',
    );
  }

  /** With no network in the sandbox, bwrap's own network namespace would hide the server's port. */
  private unreachable(): string | undefined {
    if (!this.sandbox.active || this.sandbox.status.network !== 'none') return undefined;
    return 'JELMORE_AGENT_NETWORK=none: a sandboxed opencode server would be out of Jelmore`s reach';
  }

  /** A server for this session alone, on its tenant's home (where its history is, for a resume). */
  private sessionServer(
    config: SessionConfig,
    mounts = config.mounts,
    pidName = config.sessionId,
  ): OpencodeServer {
    const home = tenantHome(this.root, config.tenant);
    const server = new OpencodeServer({
      launch: (onExit) =>
        launchOpencodeServer(
          {
            bin: this.bin!,
            version: this.binary.last.version ?? 'latest',
            home,
            cwd: config.cwd,
            mounts,
            config: opencodeConfig(
              this.options,
              this.modelList,
              this.resolveModel()?.id,
              config.mcpServers,
            ),
            sandbox: this.sandbox,
            pidFile: join(this.root, 'servers', `${pidName}.pid`),
          },
          onExit,
        ),
    });
    this.servers.add(server);
    return server;
  }
}
