/**
 * Starts client commands one per turn of the event loop, each owner's (a socket's) in arrival order, the
 * owners taking turns. Why: the store (better-sqlite3) is synchronous, so a command's every `await` on it
 * resolves as a microtask, and commands started together (one read from a socket can hold dozens) would run
 * to their first real I/O back to back, with no HTTP request, probe or other socket served until all are
 * done. One per `setImmediate` lets the loop poll for I/O between them.
 */
export class CommandTurns {
  /** Per owner, the commands not yet started; the Map's order is the order in which owners get a turn. */
  private readonly waiting = new Map<object, Array<() => void>>();
  private scheduled = false;

  constructor(private readonly onError: (err: unknown) => void) {}

  /** Queues `start`, to run after every command of `owner` queued before it. */
  enqueue(owner: object, start: () => void): void {
    const queue = this.waiting.get(owner);
    if (queue) queue.push(start);
    else this.waiting.set(owner, [start]);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.next);
    }
  }

  private readonly next = (): void => {
    const [owner, queue] = this.waiting.entries().next().value as [object, Array<() => void>];
    const start = queue.shift() as () => void;
    // To the back of the line: a socket with many commands waiting does not hold the others back.
    this.waiting.delete(owner);
    if (queue.length > 0) this.waiting.set(owner, queue);
    // Scheduled before it runs: an immediate queued now waits for the next turn, after the I/O poll.
    if (this.waiting.size > 0) setImmediate(this.next);
    else this.scheduled = false;
    try {
      start();
    } catch (err) {
      this.onError(err);
    }
  };
}
