import { setTimeout as sleep } from 'node:timers/promises';
import {
  AgentInput,
  AgentSession,
  inputText,
  SessionConfig,
  SessionEventDraft,
  SuspendedState,
} from '@jelmore/contracts';
import { AsyncQueue } from '../process/async-queue';
import { ScriptedMemory, scriptedRef } from './scripted-memory';
import { playTurn } from './scripted.script';

/**
 * An agent with no model behind it, run inside the server: each turn replays the traffic its input asks
 * for. Costs no process, so a load test can run thousands.
 */
export class ScriptedSession implements AgentSession {
  private readonly queue = new AsyncQueue<SessionEventDraft>();
  private turn?: AbortController;
  private turns = 0;

  constructor(
    private readonly config: SessionConfig & { model: string },
    /** The conversation: what [[memory]] lists and suspend keeps. */
    private readonly memory: ScriptedMemory,
    private readonly onEnd: () => void,
  ) {}

  get id(): string {
    return this.config.sessionId;
  }

  get model(): string {
    return this.config.model;
  }

  get providerRef(): string {
    return scriptedRef(this.id);
  }

  get pid(): undefined {
    return undefined;
  }

  events(): AsyncIterable<SessionEventDraft> {
    return this.queue;
  }

  async start(input: AgentInput): Promise<void> {
    await this.send(input);
  }

  async send(input: AgentInput): Promise<void> {
    const abort = new AbortController();
    this.turn = abort;
    const text = inputText(input);
    const earlier = text.includes('[[memory]]') ? [...this.memory.turns] : [];
    this.memory.remember(text);
    void playTurn(
      text,
      ++this.turns,
      {
        emit: (draft) => this.queue.push(draft),
        sleep: (ms) => sleep(Math.max(0, ms)),
        aborted: () => abort.signal.aborted,
      },
      earlier,
    );
  }

  async interrupt(): Promise<void> {
    this.turn?.abort();
  }

  async terminate(): Promise<void> {
    this.end();
  }

  async suspend(): Promise<SuspendedState> {
    this.end();
    return {
      provider: 'scripted',
      model: this.model,
      cwd: this.config.cwd,
      providerRef: this.providerRef,
      data: this.memory.data(),
    };
  }

  async resume(state: SuspendedState): Promise<void> {
    this.memory.restore(state);
    this.turns = this.memory.turns.length;
  }

  private end(): void {
    this.turn?.abort();
    // Whatever the aborted turn still emits is dropped by the ended queue.
    this.queue.end();
    this.onEnd();
  }
}
