import { setTimeout as sleep } from 'node:timers/promises';
import {
  AgentInput,
  ErrorCode,
  inputText,
  ModelInfo,
  SessionConfig,
  StartOptions,
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProcess, AgentProcessOptions } from '../process/agent-process';
import { GeminiLine, GeminiStreamNormalizer } from './gemini-stream.normalizer';
import type { GeminiApprovalMode } from './gemini.options';
import { LocalAgentSession } from '../local-agent-session';

export interface GeminiLaunch {
  /** What to execute, and the arguments before ours (the CLI's script when it runs under node). */
  command: string;
  baseArgs: string[];
  env: NodeJS.ProcessEnv;
  approvalMode: GeminiApprovalMode;
  /** Arguments giving each run the session's MCP servers, or none (writeGeminiMcpExtension). */
  mcpArgs: string[];
  /** Called once when the session lets go of its slot; `failed` when its agent died unasked. */
  onEnd: (failed: boolean) => void;
  sandbox?: AgentProcessOptions['sandbox'];
}

/**
 * One Gemini CLI conversation, one CLI process per turn (`-p` reads the prompt from stdin, so it shows in
 * no process list). Turns continue the conversation with `--resume <id>` from the history the CLI keeps
 * under its HOME, once the CLI has saved it. The CLI picks the id: a conversation whose first model call
 * failed keeps its id on disk but cannot be resumed, and that id cannot be given to `--session-id` again.
 */
export class GeminiSession extends LocalAgentSession {
  private process?: AgentProcess;
  private normalizer?: GeminiStreamNormalizer;
  private conversationRef?: string;
  private interruptRequested = false;
  private turnStartedAt = 0;
  private ending = false;

  constructor(
    config: SessionConfig,
    private readonly modelInfo: ModelInfo,
    private readonly launch: GeminiLaunch,
  ) {
    super(config, 'gemini');
  }

  get model(): string {
    return this.modelInfo.id;
  }

  get providerRef(): string | undefined {
    return this.conversationRef;
  }

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  async start(input: AgentInput, options: StartOptions = {}): Promise<void> {
    if (!options.continue) this.conversationRef = undefined;
    await this.runTurn(inputText(input));
  }

  async send(input: AgentInput): Promise<void> {
    await this.runTurn(inputText(input));
  }

  /** Ends the turn's process group; the turn ends with a result marked interrupted. */
  async interrupt(): Promise<void> {
    if (!this.process?.alive || this.normalizer?.ended) return;
    this.interruptRequested = true;
    await this.process.stop();
  }

  /** Adopts a suspended conversation: the next turn continues it with --resume. */
  async resume(state: SuspendedState): Promise<void> {
    this.conversationRef = state.providerRef;
  }

  private async runTurn(text: string): Promise<void> {
    const previous = this.process;
    if (previous?.alive) {
      if (!this.normalizer?.ended) throw new Error(`session ${this.id} already runs a turn`);
      // Its result is out but it may still be saving the conversation that the next run reads.
      await Promise.race([
        previous.exited$(),
        sleep(PREVIOUS_EXIT_WAIT_MS, undefined, { ref: false }),
      ]);
      if (previous.alive) await previous.stop();
    }
    if (this.ending) return;
    this.normalizer = new GeminiStreamNormalizer(this.modelInfo);
    this.interruptRequested = false;
    this.turnStartedAt = Date.now();
    const { command, baseArgs, env, approvalMode, sandbox } = this.launch;
    const args = [
      ...baseArgs,
      '--model',
      this.model,
      '--output-format',
      'stream-json',
      '--approval-mode',
      approvalMode,
      ...this.launch.mcpArgs,
      ...(this.conversationRef ? ['--resume', this.conversationRef] : []),
      // The prompt comes from stdin; `-p` only makes the run headless.
      '--prompt',
      '',
    ];
    const normalizer = this.normalizer;
    const agent: AgentProcess = new AgentProcess({
      bin: command,
      args,
      cwd: this.config.cwd,
      env,
      sandbox,
      drainOutput: true,
      // Its shell tool runs each command in a session of its own: end those too on interrupt or terminate.
      stopDescendantGroups: true,
      onLine: (line) => this.onLine(normalizer, line),
      onExit: (code, signal, stderrTail) =>
        this.onExit(agent, normalizer, code, signal, stderrTail),
    });
    this.process = agent;
    agent.writeText(text);
    agent.closeInput();
  }

  private onLine(normalizer: GeminiStreamNormalizer, line: string): void {
    let parsed: GeminiLine | null;
    try {
      parsed = JSON.parse(line) as GeminiLine | null;
    } catch {
      return; // Not a stream-json line (the CLI writes its notices to stderr, but be safe).
    }
    if (!parsed || typeof parsed !== 'object') return;
    for (const draft of normalizer.push(parsed)) this.queue.push(draft);
    if (normalizer.saved && normalizer.providerRef) this.conversationRef = normalizer.providerRef;
  }

  private onExit(
    agent: AgentProcess,
    normalizer: GeminiStreamNormalizer,
    code: number | null,
    signal: NodeJS.Signals | null,
    stderrTail: string,
  ): void {
    if (this.process === agent) this.process = undefined;
    if (this.ending || normalizer.ended) return;
    if (this.interruptRequested) {
      for (const draft of normalizer.interrupted(Date.now() - this.turnStartedAt)) {
        this.queue.push(draft);
      }
      return;
    }
    // Gone without a result line: the CLI itself failed (bad settings, a crash, killed from outside).
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const detail = lastLine(stderrTail);
    this.queue.push({
      type: 'error',
      code: ErrorCode.AgentExited,
      message: `Gemini CLI exited with ${how}${detail ? `: ${detail}` : ''}`,
    });
    this.queue.end();
    this.ending = true;
    this.launch.onEnd(true);
  }

  protected async end(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    await this.process?.stop();
    this.queue.end();
    this.launch.onEnd(false);
  }
}

/** How long a run whose result is out may take to exit before the next turn stops it. */
const PREVIOUS_EXIT_WAIT_MS = 5000;

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 300) ?? '';
}
