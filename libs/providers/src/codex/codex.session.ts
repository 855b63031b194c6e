import { randomUUID } from 'node:crypto';
import {
  AgentInput,
  ErrorCode,
  SessionConfig,
  StartOptions,
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProcess, AgentProcessOptions } from '../process/agent-process';
import { CodexEventNormalizer, CodexLine } from './codex-event.normalizer';
import { codexPrompt, removeQuietly, writeTurnImages } from './codex-images';
import { threadTotals } from './codex-rollout';
import type { CodexModel } from './codex.models';
import { LocalAgentSession } from '../local-agent-session';

export interface CodexLaunch {
  bin: string;
  env: NodeJS.ProcessEnv;
  /** `$CODEX_HOME`, where Codex keeps its threads (rollouts). */
  codexHome: string;
  /** `-c` overrides giving each turn the session's MCP servers (codexMcpLaunch). */
  mcpArgs: string[];
  /**
   * The session's own folder for its turns' images (`--image` files): in the tenant's agent home, which
   * the sandbox shows the agent, never in the user's workspace. Removed when the session ends.
   */
  imageDir: string;
  /** Called once when the session ends; `unexpected` when its agent crashed. */
  onEnd: (unexpected: boolean) => void;
  sandbox?: AgentProcessOptions['sandbox'];
}

/** How long an interrupted turn may take to stop on SIGINT before it is ended like a terminate. */
const INTERRUPT_GRACE_MS = 3000;
/** How long a finished turn's process may take to exit before the next turn ends it. */
const EXIT_WAIT_MS = 5000;

/**
 * One Codex conversation: a Codex thread, continued by one `codex exec --json` process per turn
 * (`exec resume <thread id>` after the first). Its history lives in `$CODEX_HOME`, so a suspended or
 * interrupted session resumes by its thread id (the providerRef) in a new process or on a restart.
 */
export class CodexSession extends LocalAgentSession {
  private normalizer: CodexEventNormalizer;
  private process?: AgentProcess;
  private ending = false;
  private ended = false;

  constructor(
    config: SessionConfig,
    private readonly modelInfo: CodexModel,
    private readonly launch: CodexLaunch,
  ) {
    super(config, 'codex');
    this.normalizer = new CodexEventNormalizer(modelInfo);
  }

  get model(): string {
    return this.modelInfo.id;
  }

  get providerRef(): string | undefined {
    return this.normalizer.threadId;
  }

  /** The running turn's process; none between turns. */
  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  async start(input: AgentInput, options: StartOptions = {}): Promise<void> {
    const prompt = codexPrompt(input, this.id);
    if (!options.continue) this.normalizer.threadId = undefined;
    await this.previousTurnGone();
    this.runTurn(prompt, input);
  }

  async send(input: AgentInput): Promise<void> {
    const prompt = codexPrompt(input, this.id);
    await this.previousTurnGone();
    this.runTurn(prompt, input);
  }

  /** SIGINT ends the turn as Codex's own Ctrl-C does: tools stopped, `<turn_aborted>` in the thread. */
  async interrupt(): Promise<void> {
    const turn = this.process;
    if (!turn?.alive || !this.normalizer.turnActive) return;
    this.normalizer.expectInterrupt();
    turn.signal('SIGINT');
    if (!(await exitsWithin(turn, INTERRUPT_GRACE_MS))) await turn.stop();
  }

  /** Adopts a thread; the next input continues it, its earlier tokens already counted. */
  async resume(state: SuspendedState): Promise<void> {
    if (!state.providerRef)
      throw new Error('nothing to resume: the session has no Codex thread id');
    const totals = await threadTotals(this.launch.codexHome, state.providerRef);
    this.normalizer = new CodexEventNormalizer(this.modelInfo, totals);
    this.normalizer.threadId = state.providerRef;
  }

  /**
   * A turn's process still writes its thread for a moment after its last line, and Codex refuses a
   * second writer ("already has an active writer"): the next turn starts once it is gone.
   */
  private async previousTurnGone(): Promise<void> {
    const previous = this.process;
    if (!previous?.alive) return;
    if (!(await exitsWithin(previous, EXIT_WAIT_MS))) await previous.stop();
  }

  /** Written only once the previous turn is gone: its exit removes its images, which may be these. */
  private runTurn(prompt: string, input: AgentInput): void {
    if (this.ending) throw new Error('the session has ended');
    const thread = this.normalizer.threadId;
    const images = writeTurnImages(this.launch.imageDir, input);
    const args = [
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--color',
      'never',
      '--model',
      this.model,
      // One `--image=` per file: `--image a.png -` would take the `-` for a second image.
      ...images.map((path) => `--image=${path}`),
      ...this.launch.mcpArgs,
      ...(thread ? ['resume', thread] : []),
      // The prompt comes on stdin: an argument would show in every process list.
      '-',
    ];
    this.normalizer.startTurn(randomUUID().slice(0, 8));
    const turn = new AgentProcess({
      bin: this.launch.bin,
      args,
      cwd: this.config.cwd,
      env: this.launch.env,
      sandbox: this.launch.sandbox,
      // The turn's last lines (turn.completed) matter, and may come after Node's 'exit'.
      drainOutput: true,
      // Codex starts each command in a session of its own; it ends them on SIGINT/SIGTERM, not SIGKILL.
      stopDescendantGroups: true,
      onLine: (line) => this.onLine(line),
      onExit: (code, signal, stderrTail) => {
        removeQuietly(images);
        this.onExit(turn, code, signal, stderrTail);
      },
    });
    this.process = turn;
    turn.writeText(prompt);
    turn.closeInput();
  }

  private onLine(line: string): void {
    let parsed: CodexLine;
    try {
      parsed = JSON.parse(line) as CodexLine;
    } catch {
      return; // Only JSON lines are events.
    }
    for (const draft of this.normalizer.push(parsed)) this.queue.push(draft);
  }

  private onExit(
    turn: AgentProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
    stderrTail: string,
  ): void {
    if (this.process === turn) this.process = undefined;
    if (this.ending) return;
    const drafts = this.normalizer.exited();
    if (drafts) {
      for (const draft of drafts) this.queue.push(draft);
      return;
    }
    // Gone mid-turn without being asked: the session cannot trust the thread's state.
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const detail = this.normalizer.lastErrorMessage ?? lastLine(stderrTail);
    this.queue.push({
      type: 'error',
      code: ErrorCode.AgentExited,
      message: `codex exited with ${how}${detail ? `: ${detail}` : ''}`,
    });
    this.finish(true);
  }

  protected async end(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    await this.process?.stop();
    this.finish(false);
  }

  private finish(unexpected: boolean): void {
    if (this.ended) return;
    this.ended = true;
    removeQuietly([this.launch.imageDir]);
    this.queue.end();
    this.launch.onEnd(unexpected);
  }
}

/** Whether the process exits within `ms`. */
async function exitsWithin(agent: AgentProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([agent.exited$().then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The stderr line that says why: Codex's own warnings (e.g. about helper binaries) come first. */
function lastLine(text: string): string {
  const lines = text
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '');
  const telling = lines.filter((l) => !l.startsWith('WARNING:'));
  return (telling.at(-1) ?? lines.at(-1) ?? '').slice(0, 300);
}
