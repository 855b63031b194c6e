import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import type { SessionEvent, SessionEventDraft } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import { SessionStore } from '../store/session-store';
import { LaggedError } from './lagged.error';

type Listener = (batch: SessionEvent[] | 'end') => void;

/** Carries this node's committed batches to the other nodes of a cluster (see SessionsCluster). */
export type EventRelay = (sessionId: string, batch: SessionEvent[] | 'end') => void;

interface Pending {
  event: SessionEvent;
  encoded: string;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const REPLAY_PAGE = 1000;

/**
 * The source of truth for what happened in a session. Each event gets the next seq, is written with its
 * batch in one transaction (group commit), and only then reaches subscribers, so what a client saw
 * survives a crash.
 */
@Injectable()
export class EventLog implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EventLog.name);
  private readonly seqs = new Map<string, number>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private pending: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private relay?: EventRelay;
  /** Per session, events appended and not yet committed (or failed), and who waits for none. */
  private readonly uncommitted = new Map<string, { count: number; waiters: Array<() => void> }>();

  constructor(
    private readonly store: SessionStore,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  /** Makes a session appendable, continuing from the last seq in the store. */
  async open(sessionId: string): Promise<void> {
    if (!this.seqs.has(sessionId)) this.seqs.set(sessionId, await this.store.lastSeq(sessionId));
  }

  lastSeq(sessionId: string): number | undefined {
    return this.seqs.get(sessionId);
  }

  /** Assigns the next seq at once; resolves when the event is committed and sent to subscribers. */
  append(sessionId: string, draft: SessionEventDraft): Promise<SessionEvent> {
    const seq = this.seqs.get(sessionId);
    if (seq === undefined) throw new Error(`Event log for session ${sessionId} is not open`);
    this.seqs.set(sessionId, seq + 1);
    const event = {
      sessionId,
      seq: seq + 1,
      ts: new Date().toISOString(),
      ...draft,
    };
    const committed = new Promise<SessionEvent>((resolve, reject) => {
      this.pending.push({
        event,
        encoded: JSON.stringify(event),
        resolve: () => resolve(event),
        reject,
      });
      // A failed commit rejects each of its appends; the flush promise itself needs no handler.
      if (this.pending.length >= this.options.commitMaxBatch) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), this.options.commitIntervalMs);
    });
    const open = this.uncommitted.get(sessionId);
    if (open) open.count++;
    else this.uncommitted.set(sessionId, { count: 1, waiters: [] });
    return committed;
  }

  /**
   * Resolves once every event appended to the session so far is committed: what reports a state
   * (the session resource, its row) waits for it, so nobody sees `idle` before the turn's result.
   */
  committed(sessionId: string): Promise<void> {
    const open = this.uncommitted.get(sessionId);
    if (!open) return Promise.resolve();
    return new Promise((resolve) => open.waiters.push(resolve));
  }

  /** Ends every subscription to the session once what was appended before is delivered. */
  async close(sessionId: string): Promise<void> {
    await this.flush();
    this.seqs.delete(sessionId);
    this.deliver(sessionId, 'end');
    this.relay?.(sessionId, 'end');
  }

  /** Stops assigning seqs for a session whose agent no longer runs here (suspended, moved). */
  async release(sessionId: string): Promise<void> {
    await this.flush();
    this.seqs.delete(sessionId);
  }

  useRelay(relay: EventRelay): void {
    this.relay = relay;
  }

  /**
   * Hands committed events (or the end) to this node's subscribers of the session: our own commits, and
   * other nodes' as the cluster relays them. Subscribers fill any gap from the store.
   */
  deliver(sessionId: string, batch: SessionEvent[] | 'end'): void {
    for (const listener of this.listeners.get(sessionId) ?? []) listener(batch);
  }

  /** Writes what is pending now; resolves once it (and every earlier batch) is committed. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) this.writing = this.writing.then(() => this.commit(batch));
    return this.writing;
  }

  /**
   * Every event after `after`, then live ones until the session ends: no gap, no duplicate. The listener
   * is attached before the replay is read, so an event committed meanwhile is either in the replay or in
   * the live buffer, and the seq filter drops the copy. `isEnded` is asked after attaching, for the same
   * reason. Throws LaggedError when the consumer falls `subscriberBufferEvents` behind.
   */
  async *subscribe(
    sessionId: string,
    after: number,
    isEnded: () => Promise<boolean>,
    signal?: AbortSignal,
  ): AsyncGenerator<SessionEvent[]> {
    const buffered: SessionEvent[][] = [];
    let bufferedCount = 0;
    let ended = false;
    let lagged = false;
    let wake: (() => void) | undefined;
    // The buffer is checked as it fills, not when the consumer next pulls: a stalled consumer may never
    // pull again, and its buffer must not grow while it stalls.
    const listener: Listener = (batch) => {
      if (batch === 'end') ended = true;
      else if (!lagged) {
        buffered.push(batch);
        bufferedCount += batch.length;
        if (bufferedCount > this.options.subscriberBufferEvents) {
          lagged = true;
          buffered.length = 0;
          bufferedCount = 0;
        }
      }
      wake?.();
    };
    const onAbort = () => wake?.();
    const set = this.listeners.get(sessionId) ?? new Set<Listener>();
    this.listeners.set(sessionId, set);
    set.add(listener);
    signal?.addEventListener('abort', onAbort);
    try {
      if (await isEnded()) ended = true;
      let last = after;
      for (;;) {
        const page = await this.store.readEvents(sessionId, last, REPLAY_PAGE);
        if (page.length === 0 || signal?.aborted) break;
        last = page[page.length - 1].seq;
        yield page;
        if (page.length < REPLAY_PAGE) break;
      }
      while (!signal?.aborted) {
        if (lagged) throw new LaggedError(last);
        const batch = buffered.shift();
        if (batch) {
          bufferedCount -= batch.length;
          // Another node's batches may arrive late, twice, or not at all (a Redis outage): what is
          // missing before this batch is read from the store, which has every committed event.
          if (batch[0].seq > last + 1) {
            const missing = await this.store.readEvents(sessionId, last, batch[0].seq - last - 1);
            if (missing.length > 0) {
              last = missing[missing.length - 1].seq;
              yield missing;
            }
          }
          const fresh = batch[0].seq > last ? batch : batch.filter((e) => e.seq > last);
          if (fresh.length > 0) {
            last = fresh[fresh.length - 1].seq;
            yield fresh;
          }
          continue;
        }
        if (ended) {
          // The end may overtake a relayed batch: the store has the rest.
          const rest = await this.store.readEvents(sessionId, last, REPLAY_PAGE);
          if (rest.length > 0) yield rest;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(sessionId) === set) this.listeners.delete(sessionId);
    }
  }

  /** Commits what is pending before the store closes (in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private async commit(batch: Pending[]): Promise<void> {
    try {
      await this.store.appendEvents(
        batch.map((p) => p.event),
        batch.map((p) => p.encoded),
      );
    } catch (err) {
      this.logger.error(`Group commit of ${batch.length} events failed: ${String(err)}`);
      for (const p of batch) p.reject(err);
      this.settle(batch);
      return;
    }
    const bySession = new Map<string, SessionEvent[]>();
    for (const { event } of batch) {
      const list = bySession.get(event.sessionId);
      if (list) list.push(event);
      else bySession.set(event.sessionId, [event]);
    }
    for (const [sessionId, events] of bySession) {
      this.deliver(sessionId, events);
      this.relay?.(sessionId, events);
    }
    for (const p of batch) p.resolve();
    this.settle(batch);
  }

  /** Counts the batch's events as settled; wakes who waited for a session with none left. */
  private settle(batch: Pending[]): void {
    for (const { event } of batch) {
      const open = this.uncommitted.get(event.sessionId);
      if (!open || --open.count > 0) continue;
      this.uncommitted.delete(event.sessionId);
      for (const wake of open.waiters) wake();
    }
  }
}
