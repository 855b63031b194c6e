import { setTimeout as sleep } from 'node:timers/promises';
import {
  AgentSession,
  SessionConfig,
  SessionEventDraft,
  SuspendedState,
  ZERO_USAGE,
} from '@jelmore/contracts';
import { AsyncQueue } from '../process/async-queue';
import { parseScript } from './scripted.script';

/** Events pushed between yields to the event loop when unthrottled. */
const UNTHROTTLED_CHUNK = 256;

/** An agent with no model behind it: each turn replays the traffic its input asks for. */
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

  async start(query: string): Promise<void> {
    await this.send(query);
  }

  async send(input: string): Promise<void> {
    const abort = new AbortController();
    this.turn = abort;
    void this.play(input, abort.signal);
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
    this.queue.end();
    this.onEnd();
  }

  private async play(input: string, signal: AbortSignal): Promise<void> {
    const startedAt = Date.now();
    const script = parseScript(input);
    const turn = ++this.turns;
    if (script.tool) {
      const id = `scripted-tool-${turn}`;
      this.queue.push({ type: 'tool_use', id, name: 'Bash', input: { command: 'true' } });
      this.queue.push({ type: 'tool_result', toolUseId: id, output: '', isError: false });
    }
    const count = typeof script.pieces === 'number' ? script.pieces : script.pieces.length;
    const piece = 'x'.repeat(script.bytes);
    const interval = script.ratePerSecond > 0 ? 1000 / script.ratePerSecond : 0;
    let text = '';
    for (let i = 0; i < count && !signal.aborted; i++) {
      const next = typeof script.pieces === 'number' ? piece : script.pieces[i];
      this.queue.push({ type: 'assistant', text: next });
      if (typeof script.pieces !== 'number') text += next;
      if (interval > 0) await sleep(startedAt + (i + 1) * interval - Date.now());
      else if ((i + 1) % UNTHROTTLED_CHUNK === 0) await sleep(0);
    }
    if (this.queue.isEnded) return;
    const usage = { ...ZERO_USAGE };
    this.queue.push({ type: 'usage', ...usage });
    this.queue.push({
      type: 'result',
      text,
      durationMs: Date.now() - startedAt,
      usage,
      ...(signal.aborted ? { interrupted: true } : {}),
    });
  }
}
