import { Worker } from 'node:worker_threads';

/** Runs in a worker thread, with a connection of its own to the same database file. */
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Sqlite = require(workerData.driver);
const db = new Sqlite(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -512'); // It copies pages; it needs no cache of its own.
const checkpoint = () => {
  try { return db.pragma('wal_checkpoint(PASSIVE)')[0]; } catch { return undefined; } // busy: next tick
};
let asked = false;
const timer = setInterval(() => {
  const result = checkpoint();
  // A log that has not restarted since: the commits never left a moment with nothing to copy.
  if (!asked && result && result.log > workerData.catchUpPages) {
    asked = true;
    parentPort.postMessage('catch-up');
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message === 'paused') {
    checkpoint();
    asked = false;
    parentPort.postMessage('caught-up');
  } else if (message === 'close') {
    clearInterval(timer); db.close(); parentPort.close();
  }
});
`;

export interface WalCheckpointerOptions {
  intervalMs?: number;
  /** WAL frames (pages) past which the event writes pause for one checkpoint to catch up. */
  catchUpPages?: number;
}

/** A worker that does not answer within this is not waited for: writes go on, the WAL a while longer. */
const CATCH_UP_TIMEOUT_MS = 1000;

/**
 * Copies the WAL back into the database file from a worker thread. SQLite's automatic checkpoint runs
 * inside the commit that crosses the threshold, on the event loop: a 1,000-page copy plus an fsync,
 * 10–100 ms with many sessions writing. The writer connection turns it off (wal_autocheckpoint = 0).
 *
 * A WAL only starts over from its beginning when a write begins after a checkpoint copied all of it.
 * Under steady group commits a passive checkpoint never gets there (each ends behind the last commit),
 * and the WAL grew without bound (829 MB in one benchmark round). So once the WAL passes `catchUpPages`
 * the worker asks for a pause: the event writer awaits `catchUp()` before its next batch (events queue
 * meanwhile, the event loop goes on), the worker copies the rest, and the next write restarts the WAL.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private requested = false;
  private caughtUp?: Promise<void>;
  /**
   * Ends the pending catch-up's wait: on the worker's answer, the timeout or close(). An answer that
   * comes after its timeout finds none (the worker asks again only after answering).
   */
  private endWait?: () => void;

  constructor(
    path: string,
    { intervalMs = 200, catchUpPages = 4096 }: WalCheckpointerOptions = {},
  ) {
    this.worker = new Worker(SOURCE, {
      eval: true,
      workerData: {
        path,
        intervalMs,
        catchUpPages,
        driver: require.resolve('better-sqlite3'),
      },
    });
    this.worker.on('message', (message) => {
      if (message === 'catch-up') this.requested = true;
      else if (message === 'caught-up') this.endWait?.();
    });
    this.worker.unref();
  }

  /**
   * Undefined, unless the worker asked to catch up: then a promise that settles once it has (or after
   * a second). The caller holds its writes until then.
   */
  catchUp(): Promise<void> | undefined {
    if (!this.requested) return this.caughtUp;
    this.requested = false;
    this.caughtUp = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.endWait?.(), CATCH_UP_TIMEOUT_MS);
      this.endWait = () => {
        clearTimeout(timer);
        this.caughtUp = this.endWait = undefined;
        resolve();
      };
      this.worker.postMessage('paused');
    });
    return this.caughtUp;
  }

  /** Stops the worker; resolves once its connection is closed. */
  async close(): Promise<void> {
    this.endWait?.();
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await exited;
  }
}
