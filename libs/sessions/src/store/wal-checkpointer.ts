import { Worker } from 'node:worker_threads';

/** Runs in a worker thread, with a connection of its own to the same database file. */
const SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Sqlite = require(workerData.driver);
const db = new Sqlite(workerData.path);
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -512'); // It copies pages; it needs no cache of its own.
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch { /* busy: the next tick tries again */ }
}, workerData.intervalMs);
parentPort.once('message', () => { clearInterval(timer); db.close(); parentPort.close(); });
`;

/**
 * Copies the WAL back into the database file from a worker thread. SQLite's automatic checkpoint runs
 * inside the commit that crosses the threshold, on the event loop: a 1,000-page copy plus an fsync,
 * 10–100 ms with many sessions writing. The writer connection turns it off (wal_autocheckpoint = 0).
 */
export class WalCheckpointer {
  private readonly worker: Worker;

  constructor(path: string, intervalMs = 200) {
    this.worker = new Worker(SOURCE, {
      eval: true,
      workerData: { path, intervalMs, driver: require.resolve('better-sqlite3') },
    });
    this.worker.unref();
  }

  /** Stops the worker; resolves once its connection is closed. */
  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage('close');
    await exited;
  }
}
