import type { Response } from 'express';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { Observable } from 'rxjs';
import type { SessionEvent } from '@jelmore/contracts';
import type { StreamOptions } from '@jelmore/sessions';
import { toErrorBody } from '../common/error-body';

type OpenStream = (options: StreamOptions) => Promise<Observable<SessionEvent[]>>;

/**
 * Streams a session as Server-Sent Events: one frame per event with `id: <seq>`, so a reconnecting
 * EventSource resumes with Last-Event-ID. Ends when the session ends or the client goes away; a session
 * the caller may not see fails in `open`, before any header, and gets the usual error response.
 */
export async function writeSse(res: Response, open: OpenStream): Promise<void> {
  const startStream = () => {
    if (res.headersSent) return;
    res.status(200).set({
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
  };
  const batches = await open({
    // A client that reads slowly holds the stream back; the log buffers, then says LAGGED.
    backpressure: (signal) => (res.writableNeedDrain ? once(res, 'drain', { signal }) : undefined),
  });
  const subscription = batches.subscribe({
    next: (batch) => {
      startStream();
      res.write(
        batch.map((e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join(''),
      );
    },
    complete: () => {
      startStream();
      res.end();
    },
    error: (err: unknown) => {
      startStream();
      res.write(`event: error\ndata: ${JSON.stringify(toErrorBody(err).body)}\n\n`);
      res.end();
    },
  });
  try {
    if (!res.destroyed) startStream();
    await finished(res);
  } catch {
    // The client went away.
  } finally {
    subscription.unsubscribe();
  }
}
