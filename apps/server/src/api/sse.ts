import type { Response } from 'express';
import type { SessionEvent } from '@jelmore/contracts';
import { toErrorBody } from '../common/error-body';

type Open = (signal: AbortSignal) => Promise<{ batches: AsyncGenerator<SessionEvent[]> }>;

/**
 * Streams a session as Server-Sent Events: one frame per event with `id: <seq>`, so a reconnecting
 * EventSource resumes with Last-Event-ID. Ends when the session ends or the client goes away.
 */
export async function writeSse(res: Response, open: Open): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => abort.abort());
  const { batches } = await open(abort.signal);
  res.status(200).set({
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();
  try {
    for await (const batch of batches) {
      const frames = batch.map(
        (e) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`,
      );
      if (!res.write(frames.join(''))) await waitForDrain(res, abort.signal);
    }
  } catch (err) {
    const { body } = toErrorBody(err);
    res.write(`event: error\ndata: ${JSON.stringify(body)}\n\n`);
  }
  res.end();
}

function waitForDrain(res: Response, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done);
  });
}
