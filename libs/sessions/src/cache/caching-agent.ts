import type {
  AgentInput,
  AgentSession,
  PermissionDecision,
  SessionEventDraft,
  StartOptions,
  SuspendedState,
} from '@jelmore/contracts';
import { ZERO_USAGE } from '@jelmore/contracts';
import type { SessionRecord } from '../store/session-record';

/** What a CachingAgent needs of the cache: a turn's key, a lookup, a place to record. */
export interface TurnCache {
  /** The turn's key after the turn keyed `previous` ('' for the first); undefined: not cacheable. */
  keyOf(record: SessionRecord, previous: string, input: AgentInput): Promise<string | undefined>;
  get(key: string): readonly SessionEventDraft[] | undefined;
  set(key: string, events: readonly SessionEventDraft[], costUsd: number): void;
}

/**
 * A session's agent with its turns through the response cache: a turn whose key is recorded is
 * replayed into events() (no `usage`, a `result` with `cached: true` and zero usage) and the agent is
 * given nothing; any other is given to the agent and its events recorded until its `result`.
 *
 * The key chains the turns before it, so a session hits only while its history is one recorded. The
 * agent never saw a replayed turn: after one, the first turn that misses reaches the agent without it,
 * and the session caches nothing more (its conversation is no longer the one its keys describe). The
 * agent starts at the first turn it is given, so a session whose first turn hits starts no process.
 */
export class CachingAgent implements AgentSession {
  private started = false;
  /** The key of the last turn ('' before the first); undefined once the session caches no more. */
  private chain: string | undefined = '';
  private replayedAny = false;
  private recording?: { key: string; events: SessionEventDraft[] };
  private readonly queue = new EventQueue();
  readonly steer?: (input: AgentInput) => Promise<void>;
  readonly answerPermission?: (requestId: string, decision: PermissionDecision) => boolean;

  constructor(
    private readonly inner: AgentSession,
    private readonly record: SessionRecord,
    private readonly cache: TurnCache,
  ) {
    if (inner.steer) this.steer = (input) => inner.steer!(input);
    if (inner.answerPermission) {
      this.answerPermission = (id, decision) => inner.answerPermission!(id, decision);
    }
  }

  get id(): string {
    return this.inner.id;
  }
  get model(): string {
    return this.inner.model;
  }
  get providerRef(): string | undefined {
    return this.inner.providerRef;
  }
  get pid(): number | undefined {
    return this.inner.pid;
  }

  events(): AsyncIterable<SessionEventDraft> {
    return this.queue;
  }

  async start(input: AgentInput, options?: StartOptions): Promise<void> {
    if (await this.replayed(input)) return;
    this.begin();
    await this.inner.start(input, options);
  }

  async send(input: AgentInput): Promise<void> {
    if (await this.replayed(input)) return;
    if (this.started) return this.inner.send(input);
    this.begin();
    await this.inner.start(input);
  }

  async interrupt(): Promise<void> {
    if (this.started) await this.inner.interrupt();
  }

  /** Ends the agent, started or not (it may hold a slot of its provider's). */
  async terminate(): Promise<void> {
    if (!this.started) this.queue.end();
    await this.inner.terminate();
  }

  async suspend(): Promise<SuspendedState> {
    if (!this.started) this.queue.end();
    return this.inner.suspend();
  }

  resume(state: SuspendedState): Promise<void> {
    this.chain = undefined;
    this.begin();
    return this.inner.resume(state);
  }

  /** True when the turn was replayed; else it is the agent's, recorded if its key is known. */
  private async replayed(input: AgentInput): Promise<boolean> {
    const previous = this.chain;
    this.chain = undefined;
    // A tree git cannot read makes the turn one the cache skips, not a failed one.
    const key =
      previous === undefined
        ? undefined
        : await this.cache.keyOf(this.record, previous, input).catch(() => undefined);
    if (key === undefined) return false;
    const events = this.cache.get(key);
    if (events) {
      this.chain = key;
      this.replayedAny = true;
      // After the caller's own continuation (the launcher marks the session running once start()
      // returns): the replayed `result` must come after that, as an agent's would.
      setImmediate(() => {
        for (const event of events) this.queue.push(replayOf(event));
      });
      return true;
    }
    if (!this.replayedAny) this.recording = { key, events: [] };
    return false;
  }

  /** From the first turn the agent is given, its events are the session's. */
  private begin(): void {
    if (this.started) return;
    this.started = true;
    void (async () => {
      try {
        for await (const event of this.inner.events()) {
          this.observe(event);
          this.queue.push(event);
        }
        this.queue.end();
      } catch (err) {
        this.queue.end(err instanceof Error ? err : new Error(String(err)));
      }
    })();
  }

  /** Records the turn's events; a turn that asked for permission, failed or was cut short is not kept. */
  private observe(event: SessionEventDraft): void {
    const recording = this.recording;
    if (!recording) return;
    if (event.type === 'permission_request' || event.type === 'error') {
      this.recording = undefined;
      return;
    }
    recording.events.push(event);
    if (event.type !== 'result') return;
    this.recording = undefined;
    if (event.interrupted) return;
    this.cache.set(recording.key, recording.events, event.usage.costUsd);
    this.chain = recording.key;
  }
}

/** A recorded event as a replay gives it: usage is not counted again, and the result says so. */
function replayOf(event: SessionEventDraft): SessionEventDraft {
  if (event.type === 'usage') return { ...event, ...ZERO_USAGE };
  if (event.type === 'result') return { ...event, usage: ZERO_USAGE, durationMs: 0, cached: true };
  return event;
}

/** An async iterable fed by push(): what events() gives, from the agent and from replays alike. */
class EventQueue implements AsyncIterable<SessionEventDraft> {
  private readonly items: SessionEventDraft[] = [];
  private waiting?: () => void;
  private done = false;
  private error?: Error;

  push(event: SessionEventDraft): void {
    if (this.done) return;
    this.items.push(event);
    this.wake();
  }

  end(error?: Error): void {
    this.done = true;
    this.error = error;
    this.wake();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SessionEventDraft> {
    for (;;) {
      const next = this.items.shift();
      if (next) yield next;
      else if (this.done) {
        if (this.error) throw this.error;
        return;
      } else await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.();
  }
}
