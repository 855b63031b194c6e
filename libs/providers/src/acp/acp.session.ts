import {
  AgentCapabilities,
  client,
  ClientConnection,
  ContentBlock,
  InitializeRequest,
  NewSessionRequest,
  RequestPermissionRequest,
  RequestPermissionResponse,
  PROTOCOL_VERSION,
  SessionNotification,
  StopReason,
} from '@agentclientprotocol/sdk';
import {
  AgentInput,
  ErrorCode,
  ModelInfo,
  PermissionDecision,
  PermissionPolicy,
  ProviderUnavailableError,
  SessionConfig,
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProcess, AgentProcessOptions } from '../process/agent-process';
import { AcpChannel } from './acp-channel';
import { acpMcpServers } from './acp-mcp';
import { AcpPermissionGate, allowed } from './acp-permissions';
import { acpPrompt, AcpPromptRefusal, AcpPromptStyle } from './acp-prompt';
import { AcpTurnNormalizer, AcpTurnUsage, promptUsage } from './acp-turn.normalizer';
import { LocalAgentSession } from '../local-agent-session';

export interface AcpLaunch {
  provider: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  sandbox?: AgentProcessOptions['sandbox'];
  policy: PermissionPolicy;
  promptStyle: AcpPromptStyle;
  startTimeoutMs: number;
  /** The agent answered `initialize` and opened the session. */
  onOpened: (agent: { name?: string; version?: string }) => void;
  /** The agent failed on its own (would not start, broke the protocol, exited unasked). */
  onFailed: (reason: string) => void;
  /** Called once when the session lets go of its slot; `failed` when its agent died unasked. */
  onEnd: (failed: boolean) => void;
  /** The session has MCP servers, but the agent announced no `mcpCapabilities.http`: it gets none. */
  onMcpRefused: () => void;
}

/** What Jelmore offers agents: no client file system or terminal; they use their own, in the sandbox. */
const INITIALIZE: InitializeRequest = {
  protocolVersion: PROTOCOL_VERSION,
  clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
  clientInfo: { name: 'jelmore', version: '1' },
};

/**
 * One session of an agent spoken to over the Agent Client Protocol: one agent process for the whole
 * session (its conversation lives there), `session/new` in the session's cwd, a `session/prompt` per
 * turn, `session/cancel` to interrupt with the context kept, `session/load` to continue after a restart
 * when the agent offers it. The process starts with start() or resume(); what it says goes through
 * {@link AcpTurnNormalizer} and {@link AcpPermissionGate}.
 */
export class AcpSession extends LocalAgentSession {
  private process?: AgentProcess;
  private connection?: ClientConnection;
  private acpSessionId?: string;
  private capabilities?: AgentCapabilities;
  private turn?: AcpTurnNormalizer;
  private agentCost?: number;
  /** History the agent replays on `session/load` is already in the session's log. */
  private replaying = false;
  private ending = false;
  /** Why the agent process ended, when it did on its own. */
  private exitReason?: string;
  /** An interrupt that came while the session was still opening: sent with the first prompt. */
  private cancelWanted = false;
  private readonly gate: AcpPermissionGate;

  constructor(
    config: SessionConfig,
    private readonly modelInfo: ModelInfo,
    private readonly launch: AcpLaunch,
  ) {
    super(config, launch.provider);
    this.gate = new AcpPermissionGate(launch.policy, (draft) => this.queue.push(draft));
  }

  get model(): string {
    return this.modelInfo.id;
  }

  get providerRef(): string | undefined {
    return this.acpSessionId;
  }

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  /**
   * Starts the agent and returns; opening the session and the first turn go on in the background, and
   * a failure there is the session's `error` event (the agent was not heard from: a failed start).
   */
  async start(input: AgentInput): Promise<void> {
    this.spawn();
    void this.open()
      .then(() => this.prompt(input))
      .catch((err: unknown) =>
        this.failed(ErrorCode.ProviderUnavailable, 'could not open a session', reason(err)),
      );
  }

  async send(input: AgentInput): Promise<void> {
    if (!this.connection) throw new Error(`session ${this.id} has no agent`);
    if (this.turn) throw new Error(`session ${this.id} already runs a turn`);
    this.prompt(input);
  }

  /** Cancels the turn; the agent ends it with `cancelled` and keeps what was said. */
  async interrupt(): Promise<void> {
    if (!this.turn) {
      // Still opening (initialize, session/new): cancel the first turn as soon as it is sent.
      if (!this.ending && this.connection && !this.acpSessionId) this.cancelWanted = true;
      return;
    }
    if (!this.connection || !this.acpSessionId) return;
    this.gate.withdrawAll('withdrawn: the turn was interrupted', true);
    await this.connection.agent.notify('session/cancel', { sessionId: this.acpSessionId });
  }

  answerPermission(requestId: string, decision: PermissionDecision): boolean {
    return this.gate.answer(requestId, decision);
  }

  /** The agent's running cost so far, so a resumed session counts only what it adds. */
  protected override suspendedData(): Pick<SuspendedState, 'data'> {
    return this.agentCost !== undefined ? { data: { agentCost: this.agentCost } } : {};
  }

  /**
   * Continues the agent's conversation `state.providerRef` in a new process with `session/load`, now,
   * so that an agent which cannot load sessions is refused to whoever resumes.
   */
  async resume(state: SuspendedState): Promise<void> {
    if (!state.providerRef) {
      await this.end(false);
      throw new ProviderUnavailableError(this.launch.provider, 'no ACP session id to load');
    }
    this.acpSessionId = state.providerRef;
    const cost = state.data?.agentCost;
    if (typeof cost === 'number') this.agentCost = cost;
    this.spawn();
    try {
      await this.open();
    } catch (err) {
      const why = this.exitReason ?? reason(err);
      if (!this.ending)
        this.launch.onFailed(`${this.launch.provider} agent could not load a session`);
      await this.end(true);
      throw new ProviderUnavailableError(this.launch.provider, why);
    }
  }

  private spawn(): void {
    const channel = new AcpChannel(
      (message) => agentProcess.writeLine(message),
      (line) =>
        this.failed(ErrorCode.AgentError, 'wrote a line that is not JSON-RPC', line.slice(0, 200)),
    );
    const agentProcess: AgentProcess = new AgentProcess({
      bin: this.launch.command,
      args: this.launch.args,
      cwd: this.config.cwd,
      env: this.launch.env,
      sandbox: this.launch.sandbox,
      stopDescendantGroups: true,
      onLine: (line) => channel.push(line),
      onExit: (code, signal, stderrTail) => {
        channel.close();
        const how = signal ? `signal ${signal}` : `code ${code}`;
        this.exitReason = `the agent exited with ${how}`;
        const detail = stderrTail.trim().split('\n').pop()?.slice(0, 300);
        this.failed(ErrorCode.AgentExited, `exited with ${how}`, detail || undefined);
      },
    });
    this.process = agentProcess;
    this.connection = client({ name: 'jelmore' })
      .onNotification('session/update', ({ params }) => this.onUpdate(params))
      .onRequest('session/request_permission', ({ params, signal }) =>
        this.onPermission(params, signal),
      )
      .connect(channel.stream);
  }

  /** `initialize`, then `session/load` of the session to continue or `session/new`, within the timeout. */
  private async open(): Promise<void> {
    const agent = this.connection!.agent;
    const init = await this.inTime('initialize', agent.request('initialize', INITIALIZE));
    this.capabilities = init.agentCapabilities;
    const { mcpServers, refused } = acpMcpServers(this.config.mcpServers, this.capabilities);
    if (refused) this.launch.onMcpRefused();
    // session/load takes them too: the agent's MCP connections ended with its earlier process.
    const request: NewSessionRequest = { cwd: this.config.cwd, mcpServers };
    if (this.acpSessionId) {
      if (!this.capabilities?.loadSession) {
        throw new Error(
          'the agent cannot load sessions (no loadSession capability): it cannot resume',
        );
      }
      this.replaying = true;
      try {
        await this.inTime(
          'session/load',
          agent.request('session/load', { ...request, sessionId: this.acpSessionId }),
        );
      } finally {
        this.replaying = false;
      }
    } else {
      const created = await this.inTime('session/new', agent.request('session/new', request));
      this.acpSessionId = created.sessionId;
    }
    this.launch.onOpened({
      name: init.agentInfo?.name,
      version: init.agentInfo?.version ?? undefined,
    });
  }

  private prompt(input: AgentInput): void {
    const turn = new AcpTurnNormalizer(this.modelInfo, this.agentCost);
    this.turn = turn;
    let prompt: ContentBlock[];
    try {
      prompt = acpPrompt(input, this.capabilities?.promptCapabilities, this.launch.promptStyle);
    } catch (err) {
      if (!(err instanceof AcpPromptRefusal)) throw err;
      // Selection trusts the config entry, but the agent has the last word: nothing it cannot read is sent.
      this.cancelWanted = false;
      const message = `${this.launch.provider}: ${err.message}`;
      this.refuseTurn(turn, ErrorCode.MultimodalUnsupported, message);
      return;
    }
    this.connection!.agent.request('session/prompt', {
      sessionId: this.acpSessionId!,
      prompt,
    }).then(
      (response) => this.finish(turn, response.stopReason, promptUsage(response)),
      (err: unknown) => {
        // The agent's exit or a broken line is reported on its own; this is the agent refusing the turn.
        if (this.ending || !this.process?.alive) return;
        this.refuseTurn(turn, ErrorCode.AgentError, `The agent failed the turn: ${reason(err)}`);
      },
    );
    if (this.cancelWanted) {
      this.cancelWanted = false;
      void this.interrupt();
    }
  }

  /** The turn ends with an error but the session goes on. */
  private refuseTurn(turn: AcpTurnNormalizer, code: ErrorCode, message: string): void {
    this.queue.push({ type: 'error', code, message });
    this.finish(turn, 'end_turn', undefined);
  }

  private finish(
    turn: AcpTurnNormalizer,
    stopReason: StopReason,
    usage: AcpTurnUsage | undefined,
  ): void {
    if (this.turn !== turn || this.ending) return;
    this.turn = undefined;
    this.gate.withdrawAll('the turn ended', true);
    for (const draft of turn.finish(stopReason, usage)) this.queue.push(draft);
    this.agentCost = turn.agentCost;
  }

  private onUpdate(notification: SessionNotification): void {
    if (this.replaying || notification.sessionId !== this.acpSessionId || !this.turn) return;
    for (const draft of this.turn.push(notification.update)) this.queue.push(draft);
  }

  private async onPermission(
    params: RequestPermissionRequest,
    withdrawn: AbortSignal,
  ): Promise<RequestPermissionResponse> {
    const turn = this.turn;
    for (const draft of turn?.asked(params.toolCall) ?? []) this.queue.push(draft);
    const response = await this.gate.request(params, withdrawn);
    // A question withdrawn or left with the turn has no answer, and so no refusal to report.
    if (turn && response.outcome.outcome === 'selected' && !allowed(params, response)) {
      const refusal = turn.refused(params.toolCall.toolCallId, 'Denied: permission refused');
      for (const draft of refusal) this.queue.push(draft);
    }
    return response;
  }

  private inTime<T>(step: string, request: Promise<T>): Promise<T> {
    const ms = this.launch.startTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer to ${step} within ${ms / 1000} s`)), ms);
    });
    return Promise.race([request, late]).finally(() => clearTimeout(timer));
  }

  /** The agent failed on its own: its error event, then the end of the session's events. */
  /**
   * The agent failed on its own: the session's error event says all (`detail` may quote the agent), the
   * provider's health only `summary`, since health is public and the agent's output is a tenant's.
   */
  private failed(code: ErrorCode, summary: string, detail?: string): void {
    if (this.ending) return;
    const text = `${this.launch.provider} agent ${summary}`;
    this.launch.onFailed(text);
    this.queue.push({ type: 'error', code, message: detail ? `${text}: ${detail}` : text });
    void this.end(true);
  }

  protected async end(failed: boolean): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    this.gate.withdrawAll('the agent stopped', false);
    this.connection?.close();
    await this.process?.stop();
    this.queue.end();
    this.launch.onEnd(failed);
  }
}

function reason(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String(err.message);
  return String(err);
}
