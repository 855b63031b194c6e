import type { Response } from 'express';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import type { EventSink, LogSubscription } from '@jelmore/sessions';
import { toErrorBody } from '../common/error-body';

type Follow = (sink: EventSink) => Promise<LogSubscription>;

/**
 * Streams a session as Server-Sent Events: one frame per event with `id: <seq>`, so a reconnecting
 * EventSource resumes with Last-Event-ID. Ends when the session ends or the client goes away; a session
 * the caller may not see fails in `follow`, before any header, and gets the usual error response.
 */
export async function writeSse(res: Response, follow: Follow): Promise<void> {
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
  const sink: EventSink = {
    next: (batch) => {
      startStream();
      const frames = batch.map(
        (e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`,
      );
      return res.write(frames.join('')) ? undefined : once(res, 'drain');
    },
    complete: () => {
      startStream();
      res.end();
    },
    error: (err) => {
      startStream();
      res.write(`event: error\ndata: ${JSON.stringify(toErrorBody(err).body)}\n\n`);
      res.end();
    },
  };
  const subscription = await follow(sink);
  try {
    if (!res.destroyed) startStream();
    await finished(res);
  } catch {
    // The client went away.
  } finally {
    subscription.close();
  }
}
