import type { Worker } from 'node:worker_threads';

/**
 * For a worker that measures until told 'stop' and then posts its samples: the returned function stops
 * it and resolves what it measured (the worker is terminated either way).
 */
export function stopAndCollect<T>(worker: Worker): () => Promise<T> {
  const samples = new Promise<T>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return async () => {
    worker.postMessage('stop');
    try {
      return await samples;
    } finally {
      await worker.terminate();
    }
  };
}
