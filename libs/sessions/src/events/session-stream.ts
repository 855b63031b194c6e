import { Observable } from 'rxjs';
import type { SessionEvent } from '@jelmore/contracts';
import type { EventSink, LogSubscription } from './log-subscription';

export interface StreamOptions {
  /**
   * Asked after each batch is handed on: undefined while the consumer takes more, else a promise that
   * settles once it does. Until then what commits waits in the log's bounded buffer, past which the stream
   * fails with LaggedError. `signal` aborts when the stream is torn down.
   */
  backpressure?: (signal: AbortSignal) => Promise<unknown> | undefined;
}

/**
 * Bridges a session's log to RxJS: the agent's `events()` are committed by the log, and each committed
 * batch is pushed to the subscriber by the LogSubscription from the commit itself (no promise, async
 * generator or scheduler hop per batch). Cold: each subscription follows the log on its own, from `after`,
 * with no gap and no duplicate, and completes when the session ends. Unsubscribing closes it.
 */
export function committedBatches(
  follow: (sink: EventSink) => LogSubscription,
  { backpressure }: StreamOptions = {},
): Observable<SessionEvent[]> {
  return new Observable<SessionEvent[]>((subscriber) => {
    const teardown = new AbortController();
    const subscription = follow({
      next: backpressure
        ? (batch) => {
            subscriber.next(batch);
            return backpressure(teardown.signal);
          }
        : (batch) => {
            subscriber.next(batch);
            return undefined;
          },
      complete: () => subscriber.complete(),
      error: (err) => subscriber.error(err),
    });
    return () => {
      teardown.abort();
      subscription.close();
    };
  });
}
