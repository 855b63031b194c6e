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
    private readonly onEnd: () => void,
  ) {}

  get id(): string {
    return this.config.sessionId;
  }

  get model(): string {
    return this.config.model;
  }

  get providerRef(): string {
    return `scripted-${this.id}`;
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
    void playTurn(inputText(input), ++this.turns, {
      emit: (draft) => this.queue.push(draft),
      sleep: (ms) => sleep(Math.max(0, ms)),
      aborted: () => abort.signal.aborted,
    });
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
    };
  }

  async resume(): Promise<void> {
    // Nothing to restore: a scripted agent has no history.
  }

  private end(): void {
    this.turn?.abort();
    // Whatever the aborted turn still emits is dropped by the ended queue.
    this.queue.end();
    this.onEnd();
  }
}
