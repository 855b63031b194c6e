import { BeforeApplicationShutdown, Inject, Injectable, Logger } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { SessionEvent, SessionEventDraft } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { SessionRecord } from '../store/session-record';
import { EventStore } from '../store/event-store';
import { rememberEncoding } from './encoded-event';
import { GroupCommit } from './group-commit';
import { EventSink, LogSubscription } from './log-subscription';

/** One session's events of one group commit (or its end), as every observer of the log gets them. */
export interface CommittedBatch {
  sessionId: string;
  /** The session as it is when the batch commits, if it was given when the log was opened. */
  record?: SessionRecord;
  batch: SessionEvent[] | 'end';
}

interface Pending {
  event: SessionEvent;
  encoded: string;
  onCommitted?: (event: SessionEvent) => void;
  onFailed?: (err: unknown) => void;
}

/**
 * The source of truth for what happened in a session. Each event gets the next seq, is written with its
 * batch in one transaction (group commit, see GroupCommit), and only then reaches subscribers, so what a
 * client saw survives a crash.
 */
@Injectable()
export class EventLog implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EventLog.name);
  private readonly seqs = new Map<string, number>();
  private readonly records = new Map<string, SessionRecord>();
  private readonly subscriptions = new Map<string, Set<LogSubscription>>();
  private readonly commits: GroupCommit<Pending>;
  private readonly committedBatches = new Subject<CommittedBatch>();
  /**
   * Every batch this node commits, and every session's end, once its subscribers here have it: the one
   * fan-out for what else follows the log (metrics, NATS, the cluster relay). One emission per session
   * per commit, never one per event.
   */
  readonly committed$: Observable<CommittedBatch> = this.committedBatches.asObservable();
  /** Per session, events appended and not yet committed (or failed), and who waits for none. */
  private readonly uncommitted = new Map<string, { count: number; waiters: Array<() => void> }>();

  constructor(
    private readonly store: EventStore,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {
    this.commits = new GroupCommit(
      (batch) => this.commit(batch),
      options.commitMaxBatch,
      // commit() reports the store's failures itself: this is a subscriber or callback that threw.
      (err, batch) => this.logger.error(`Delivering ${batch.length} events failed: ${String(err)}`),
    );
  }

  /**
   * Makes a session appendable, continuing from the last seq in the store. `record`: the session its
   * committed batches are reported with (to `committed$`) until the log is closed or released.
   * `fresh`: the session was created just now and has no events, so its seqs start at 1 without a read.
   */
  async open(
    sessionId: string,
    record?: SessionRecord,
    { fresh = false }: { fresh?: boolean } = {},
  ): Promise<void> {
    if (record) this.records.set(sessionId, record);
    if (this.seqs.has(sessionId)) return;
    this.seqs.set(sessionId, fresh ? 0 : await this.store.lastSeq(sessionId));
  }

  lastSeq(sessionId: string): number | undefined {
    return this.seqs.get(sessionId);
  }

  /** Assigns the next seq at once; resolves when the event is committed and sent to subscribers. */
  append(sessionId: string, draft: SessionEventDraft): Promise<SessionEvent> {
    return new Promise((resolve, reject) => this.write(sessionId, draft, resolve, reject));
  }

  /**
   * `write` for events that may come after their session's log closed (the session ended while they
   * were made): those are dropped. False when it was.
   */
  writeIfOpen(sessionId: string, draft: SessionEventDraft): boolean {
    if (!this.seqs.has(sessionId)) return false;
    this.write(sessionId, draft);
    return true;
  }

  /**
   * `append` without a promise, for the agents' events: each gets its seq at once, and `onCommitted`
   * runs once it is committed and sent to subscribers (`onFailed` if the commit fails).
   */
  write(
    sessionId: string,
    draft: SessionEventDraft,
    onCommitted?: (event: SessionEvent) => void,
    onFailed?: (err: unknown) => void,
  ): void {
    const seq = this.seqs.get(sessionId);
    if (seq === undefined) throw new Error(`Event log for session ${sessionId} is not open`);
    this.seqs.set(sessionId, seq + 1);
    const event = {
      sessionId,
      seq: seq + 1,
      ts: new Date().toISOString(),
      ...draft,
    };
    const encoded = JSON.stringify(event);
    rememberEncoding(event, encoded);
    // Counted before it is queued: a full batch starts its commit at once.
    const open = this.uncommitted.get(sessionId);
    if (open) open.count++;
    else this.uncommitted.set(sessionId, { count: 1, waiters: [] });
    this.commits.add({ event, encoded, onCommitted, onFailed });
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
    this.fanOut(sessionId, 'end');
    this.records.delete(sessionId);
  }

  /** Stops assigning seqs for a session whose agent no longer runs here (suspended, moved). */
  async release(sessionId: string): Promise<void> {
    await this.flush();
    this.seqs.delete(sessionId);
    this.records.delete(sessionId);
  }

  /**
   * Hands committed events (or the end) to this node's subscribers of the session: our own commits, and
   * other nodes' as the cluster relays them. Subscribers fill any gap from the store.
   */
  deliver(sessionId: string, batch: SessionEvent[] | 'end'): void {
    for (const subscription of this.subscriptions.get(sessionId) ?? []) subscription.take(batch);
  }

  /** Writes what is pending now; resolves once it (and every earlier batch) is committed. */
  flush(): Promise<void> {
    return this.commits.flush();
  }

  /**
   * Every event after `after` to `sink`, then live ones until the session ends: no gap, no duplicate.
   * The subscription listens before the replay is read, so an event committed meanwhile is either in the
   * replay or in its buffer, and the seq filter drops the copy; `isEnded` is asked after it listens, for
   * the same reason. A sink that falls `subscriberBufferEvents` behind gets a LaggedError.
   */
  follow(
    sessionId: string,
    after: number,
    isEnded: () => Promise<boolean>,
    sink: EventSink,
  ): LogSubscription {
    const set = this.subscriptions.get(sessionId) ?? new Set<LogSubscription>();
    this.subscriptions.set(sessionId, set);
    const subscription = new LogSubscription(
      {
        read: (from, limit) => this.store.readEvents(sessionId, from, limit),
        isEnded,
        bufferLimit: this.options.subscriberBufferEvents,
        detach: () => {
          set.delete(subscription);
          if (set.size === 0 && this.subscriptions.get(sessionId) === set)
            this.subscriptions.delete(sessionId);
        },
      },
      sink,
      after,
    );
    set.add(subscription);
    subscription.start();
    return subscription;
  }

  /** Commits what is pending before the store closes (in onApplicationShutdown). */
  async beforeApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  private async commit(batch: Pending[]): Promise<void> {
    // Settled even if a callback throws, so committed() never waits on a batch long written.
    try {
      try {
        await this.store.appendEvents(
          batch.map((p) => p.event),
          batch.map((p) => p.encoded),
        );
      } catch (err) {
        this.logger.error(`Group commit of ${batch.length} events failed: ${String(err)}`);
        for (const p of batch) p.onFailed?.(err);
        return;
      }
      const bySession = new Map<string, SessionEvent[]>();
      for (const { event } of batch) {
        const list = bySession.get(event.sessionId);
        if (list) list.push(event);
        else bySession.set(event.sessionId, [event]);
      }
      for (const [sessionId, events] of bySession) this.fanOut(sessionId, events);
      for (const p of batch) p.onCommitted?.(p.event);
    } finally {
      this.settle(batch);
    }
  }

  /** Our subscribers first (the batch is on its way to clients), then every observer of the log. */
  private fanOut(sessionId: string, batch: SessionEvent[] | 'end'): void {
    this.deliver(sessionId, batch);
    this.committedBatches.next({ sessionId, record: this.records.get(sessionId), batch });
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
