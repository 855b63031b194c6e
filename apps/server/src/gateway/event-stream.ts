import { Observable } from 'rxjs';
import type { SessionEvent } from '@jelmore/contracts';

/**
 * Bridges a session's batches to an Observable. Unsubscribing aborts the iterator at once (the log's
 * subscription ends even while waiting for events), and `whenWritable` lets the transport hold the
 * producer back while the client's buffer is full, so a slow client lags in the log's bounded buffer.
 */
export function toObservable(
  open: (signal: AbortSignal) => Promise<AsyncGenerator<SessionEvent[]>>,
  whenWritable: (signal: AbortSignal) => Promise<void> | undefined,
): Observable<SessionEvent[]> {
  return new Observable<SessionEvent[]>((subscriber) => {
    const abort = new AbortController();
    (async () => {
      const batches = await open(abort.signal);
      for await (const batch of batches) {
        if (abort.signal.aborted) break;
        subscriber.next(batch);
        // Most batches find the socket writable: no promise, no extra turn of the microtask queue.
        const full = whenWritable(abort.signal);
        if (full) await full;
      }
      subscriber.complete();
    })().catch((err: unknown) => subscriber.error(err));
    return () => abort.abort();
  });
}
