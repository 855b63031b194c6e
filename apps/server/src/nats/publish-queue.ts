import type { SessionEvent } from '@jelmore/contracts';

/** The events of one session to publish next, in seq order. */
export interface SessionBatch {
  sessionId: string;
  events: SessionEvent[];
}

/**
 * Events waiting for NATS, one seq-ordered queue per session, bounded in total. An event stays queued
 * until `ack` removes it, so a failed publish is retried from the same place and a session's order holds.
 */
export class PublishQueue {
  private readonly sessions = new Map<string, SessionEvent[]>();
  private total = 0;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.total;
  }

  /** Queues the event; false when the queue is full (the event is not kept). */
  push(event: SessionEvent): boolean {
    if (this.total >= this.capacity) return false;
    let queue = this.sessions.get(event.sessionId);
    if (!queue) {
      queue = [];
      this.sessions.set(event.sessionId, queue);
    }
    // Commits are observed in seq order; this only guards a late one.
    let at = queue.length;
    while (at > 0 && queue[at - 1].seq > event.seq) at--;
    if (at > 0 && queue[at - 1].seq === event.seq) return true;
    queue.splice(at, 0, event);
    this.total++;
    return true;
  }

  /**
   * The head of each session's queue (at most `perSession` events each, `max` in all), without removing
   * them. Sessions served go to the back, so a busy session cannot starve the others.
   */
  take(perSession: number, max: number): SessionBatch[] {
    const batches: SessionBatch[] = [];
    let taken = 0;
    for (const [sessionId, queue] of this.sessions) {
      if (taken >= max) break;
      const events = queue.slice(0, Math.min(perSession, max - taken));
      batches.push({ sessionId, events });
      taken += events.length;
    }
    for (const { sessionId } of batches) {
      const queue = this.sessions.get(sessionId)!;
      this.sessions.delete(sessionId);
      this.sessions.set(sessionId, queue);
    }
    return batches;
  }

  /** Removes the first `count` events of the session (those published). */
  ack(sessionId: string, count: number): void {
    const queue = this.sessions.get(sessionId);
    if (!queue || count <= 0) return;
    const removed = queue.splice(0, count).length;
    this.total -= removed;
    if (queue.length === 0) this.sessions.delete(sessionId);
  }

  /** Empties the queue and says how many events were in it. */
  clear(): number {
    const dropped = this.total;
    this.sessions.clear();
    this.total = 0;
    return dropped;
  }
}
