interface Batch<T> {
  items: T[];
  /** Who flush() made wait for this batch; made only when someone asks. */
  waiters?: Array<() => void>;
}

/**
 * Group commit that adapts to load. An idle writer commits what was added on the next turn of the event
 * loop (setImmediate); while a commit is in flight, what is added waits and goes in one batch on the turn
 * it ends. So a lone event waits for no timer, and batches grow by themselves as commits slow down (a busy
 * loop, PostgreSQL's round trips). Batches are written one at a time, in order, at most `maxBatch` items;
 * a full one, or one that flush() waits for, starts at once.
 */
export class GroupCommit<T> {
  /** Batches not yet started, oldest first; only the last may have room. */
  private readonly queued: Array<Batch<T>> = [];
  private inFlight?: Batch<T>;
  private tick?: NodeJS.Immediate;

  constructor(
    /** Writes a batch; a rejection is reported to `onError` and the next batch goes on. */
    private readonly write: (items: T[]) => Promise<void>,
    private readonly maxBatch: number,
    private readonly onError: (err: unknown, items: T[]) => void,
  ) {}

  add(item: T): void {
    let open = this.queued.at(-1);
    if (!open || open.items.length >= this.maxBatch) this.queued.push((open = { items: [] }));
    open.items.push(item);
    this.schedule();
  }

  /** Starts what is queued now; resolves once it (and every earlier batch) is written. */
  flush(): Promise<void> {
    const last = this.queued.at(-1) ?? this.inFlight;
    if (!last) return Promise.resolve();
    const flushed = new Promise<void>((resolve) => (last.waiters ??= []).push(resolve));
    this.schedule();
    return flushed;
  }

  /** Starts the oldest batch now if it is full or flushed (only the last may be neither), else next turn. */
  private schedule(): void {
    const first = this.queued[0];
    if (this.inFlight || !first) return;
    if (first.items.length >= this.maxBatch || first.waiters) this.start();
    // setImmediate, not a microtask: an agent's events reach the log one microtask apart (a for-await
    // over its stream), and what one stdout chunk (or a burst of timers) produced should share a commit.
    // On SQLite a commit ends within microtasks: starting the next at once would cut a burst into crumbs.
    else this.tick ??= setImmediate(this.onTick);
  }

  private readonly onTick = (): void => {
    this.tick = undefined;
    if (!this.inFlight) this.start();
  };

  private start(): void {
    const batch = this.queued.shift();
    if (batch) void this.run(batch);
  }

  private async run(batch: Batch<T>): Promise<void> {
    this.inFlight = batch;
    try {
      await this.write(batch.items);
    } catch (err) {
      this.onError(err, batch.items);
    } finally {
      this.inFlight = undefined;
      for (const wake of batch.waiters ?? []) wake();
      this.schedule();
    }
  }
}
