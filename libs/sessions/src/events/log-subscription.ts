import type { SessionEvent } from '@jelmore/contracts';
import { LaggedError } from './lagged.error';

/** Where a subscription delivers its batches: a socket, an SSE response, a test. */
export interface EventSink {
  /**
   * Takes the next batch, in seq order. Returns nothing while it takes more; a promise when it is full:
   * nothing more comes until that settles, and what arrives meanwhile waits in the bounded buffer.
   */
  next(batch: SessionEvent[]): Promise<unknown> | undefined;
  /** The session ended and every event was delivered. */
  complete(): void;
  /** The subscription broke (LaggedError, a store error); nothing follows. */
  error(err: unknown): void;
}

export interface LogSubscriptionSource {
  /** Committed events of the session after `after`, at most `limit`, in seq order. */
  read(after: number, limit: number): Promise<SessionEvent[]>;
  /** True when the session has ended already (asked once the subscription listens). */
  isEnded(): Promise<boolean>;
  /** Stops the delivery of live batches to this subscription. */
  detach(): void;
  /** Past this many undelivered events the subscriber is told it lagged. */
  bufferLimit: number;
}

const REPLAY_PAGE = 1000;

/**
 * One subscriber's view of a session: the replay after its seq from the store, then live batches as they
 * are committed, with no gap and no duplicate, until the session ends. A live batch that follows what the
 * sink has and finds it ready goes straight through (no buffer, no promise: this runs for every event of
 * every subscribed session); anything else (the replay, a full sink, a gap left by a relay from another
 * node) goes through the buffer and one async worker, which reads what is missing from the store.
 */
export class LogSubscription {
  private readonly buffered: SessionEvent[][] = [];
  private bufferedCount = 0;
  private replaying = true;
  private ended = false;
  private full = false;
  private working = false;
  private closed = false;

  constructor(
    private readonly source: LogSubscriptionSource,
    private readonly sink: EventSink,
    /** The last seq the sink has. */
    private last: number,
  ) {}

  /** Called once the live batches reach `take`: asks whether the session has ended, then replays. */
  start(): void {
    this.working = true;
    this.source
      .isEnded()
      .then((ended) => {
        this.ended ||= ended;
        return this.work();
      })
      .then(
        () => this.idle(),
        (err: unknown) => this.fail(err),
      );
  }

  /** A committed batch of the session, or its end. */
  take(batch: SessionEvent[] | 'end'): void {
    if (this.closed) return;
    if (batch === 'end') {
      this.ended = true;
    } else if (
      !this.working &&
      !this.full &&
      this.buffered.length === 0 &&
      batch[0].seq === this.last + 1
    ) {
      this.send(batch);
      return;
    } else {
      this.buffered.push(batch);
      this.bufferedCount += batch.length;
      // Checked as the buffer fills: a stalled sink may never ask for more.
      if (this.bufferedCount > this.source.bufferLimit) {
        this.fail(new LaggedError(this.last));
        return;
      }
    }
    this.pump();
  }

  /** Ends the subscription without a word to the sink (the subscriber left). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.buffered.length = 0;
    this.source.detach();
  }

  private send(batch: SessionEvent[]): void {
    this.last = batch[batch.length - 1].seq;
    let full: Promise<unknown> | undefined;
    try {
      full = this.sink.next(batch);
    } catch (err) {
      // A live batch is sent from the commit that delivers to every subscriber: one sink's fault
      // ends its own subscription only.
      this.fail(err);
      return;
    }
    if (!full) return;
    this.full = true;
    full.then(
      () => this.resume(),
      () => this.resume(),
    );
  }

  private resume(): void {
    this.full = false;
    this.pump();
  }

  private pump(): void {
    if (this.working || this.closed || this.full) return;
    this.working = true;
    this.work().then(
      () => this.idle(),
      (err: unknown) => this.fail(err),
    );
  }

  /** The worker stopped: work that came while it finished its last step is taken up now. */
  private idle(): void {
    this.working = false;
    if (this.buffered.length > 0 || this.ended) this.pump();
  }

  /** Delivers until nothing waits, the sink is full, or the subscription is over. */
  private async work(): Promise<void> {
    while (!this.closed && !this.full) {
      if (this.replaying) {
        const page = await this.source.read(this.last, REPLAY_PAGE);
        if (this.closed) return;
        if (page.length > 0) this.send(page);
        if (page.length < REPLAY_PAGE) this.replaying = false;
        continue;
      }
      const batch = this.buffered.shift();
      if (batch) {
        this.bufferedCount -= batch.length;
        // Another node's batches may arrive late, twice, or not at all (a Redis outage): what is
        // missing before this batch is read from the store, which has every committed event.
        if (batch[0].seq > this.last + 1) {
          const missing = await this.source.read(this.last, batch[0].seq - this.last - 1);
          if (this.closed) return;
          if (missing.length > 0) this.send(missing);
        }
        const fresh = batch[0].seq > this.last ? batch : batch.filter((e) => e.seq > this.last);
        if (fresh.length > 0) this.send(fresh);
        continue;
      }
      if (!this.ended) return;
      // The end may overtake a relayed batch: the store has the rest.
      const rest = await this.source.read(this.last, REPLAY_PAGE);
      if (this.closed) return;
      if (rest.length > 0) this.send(rest);
      if (rest.length < REPLAY_PAGE) {
        this.close();
        this.sink.complete();
        return;
      }
    }
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.close();
    this.sink.error(err);
  }
}
