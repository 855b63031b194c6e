/**
 * An unbounded push queue read as an AsyncIterable by one consumer. Producers never wait: agents write
 * at their own pace and the event log (not this queue) applies back-pressure to clients.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private waiter?: () => void;
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** A plain iterator, not an async generator: it is read once for every event of every session. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    const next = (): Promise<IteratorResult<T>> => {
      if (this.items.length > 0)
        return Promise.resolve({ value: this.items.shift()!, done: false });
      if (this.ended) return Promise.resolve({ value: undefined, done: true });
      return new Promise<void>((resolve) => (this.waiter = resolve)).then(next);
    };
    return { next };
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
