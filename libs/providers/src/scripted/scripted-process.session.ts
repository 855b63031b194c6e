import {
  AgentInput,
  ErrorCode,
  inputText,
  SessionConfig,
  SessionEventDraft,
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProcess } from '../process/agent-process';
import { type ScriptedMemory, scriptedRef } from './scripted-memory';
import { SCRIPTED_AGENT_SOURCE, ScriptedAgentInput } from './scripted.script';
import { LocalAgentSession } from '../local-agent-session';

/**
 * The scripted agent as a real child process, run through the same AgentProcess machinery as the agent
 * CLIs (own process group, no shell, given environment) and read as JSON lines from its stdout: what a
 * benchmark of the agent-to-client path, or a demo of process handling, needs.
 */
export class ScriptedProcessSession extends LocalAgentSession<SessionConfig & { model: string }> {
  private process?: AgentProcess;
  private ending = false;
  private turns = 0;

  constructor(
    config: SessionConfig & { model: string },
    /** The conversation: what [[memory]] lists and suspend keeps. */
    private readonly memory: ScriptedMemory,
    /** Called when the agent process exits; `expected` after terminate() or suspend(). */
    private readonly onExit: (expected: boolean) => void,
  ) {
    super(config, 'scripted');
  }

  get model(): string {
    return this.config.model;
  }

  get providerRef(): string {
    return scriptedRef(this.id);
  }

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  async start(input: AgentInput): Promise<void> {
    await this.send(input);
  }

  async send(input: AgentInput): Promise<void> {
    if (!this.process?.alive) this.spawn();
    const text = inputText(input);
    // Only a turn that lists them gets the earlier prompts: lines stay short for load tests.
    const memory = text.includes('[[memory]]') ? [...this.memory.turns] : undefined;
    this.memory.remember(text);
    this.write({ type: 'user', text, turn: ++this.turns, ...(memory ? { memory } : {}) });
  }

  async interrupt(): Promise<void> {
    if (this.process?.alive) this.write({ type: 'interrupt' });
  }

  /** Adopts the suspended conversation; the process starts with the next input. */
  async resume(state: SuspendedState): Promise<void> {
    this.memory.restore(state);
    this.turns = this.memory.turns.length;
  }

  protected override suspendedData(): Pick<SuspendedState, 'data'> {
    return { data: this.memory.data() };
  }

  private spawn(): void {
    this.process = new AgentProcess({
      bin: process.execPath,
      args: ['-e', SCRIPTED_AGENT_SOURCE],
      cwd: this.config.cwd,
      // Nothing from the server's environment: NODE_OPTIONS (a profiler, a preload) must not reach it.
      env: {},
      onLine: (line) => this.onLine(line),
      onExit: (code, signal, stderrTail) => this.onAgentExit(code, signal, stderrTail),
    });
  }

  private write(message: ScriptedAgentInput): void {
    this.process!.writeLine(message);
  }

  private onLine(line: string): void {
    let draft: unknown;
    try {
      draft = JSON.parse(line);
    } catch {
      return; // Only JSON lines are events.
    }
    if (draft && typeof (draft as { type?: unknown }).type === 'string') {
      this.queue.push(draft as SessionEventDraft);
    }
  }

  protected async end(): Promise<void> {
    this.ending = true;
    if (this.process?.alive) await this.process.stop();
    else this.onExit(true); // No process to wait for (never started, or gone): free the slot now.
    this.queue.end();
  }

  private onAgentExit(
    code: number | null,
    signal: NodeJS.Signals | null,
    stderrTail: string,
  ): void {
    this.onExit(this.ending);
    if (this.ending) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const detail = stderrTail.trim().split('\n').pop()?.slice(0, 300);
    this.queue.push({
      type: 'error',
      code: ErrorCode.AgentExited,
      message: `The scripted agent exited with ${how}${detail ? `: ${detail}` : ''}`,
    });
    this.queue.end();
  }
}
