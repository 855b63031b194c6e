import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from './dialect';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WalCheckpointer', () => {
  it('copies the WAL into the database file from its worker, with the writer’s own checkpoints off', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jelmore-wal-'));
    const path = join(dir, 'test.db');
    const { sqlite, checkpointer } = openDatabase(`sqlite:${path}`);
    try {
      expect(checkpointer).toBeDefined();
      expect(sqlite!.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
      sqlite!.exec('create table t (id integer primary key, body text)');
      const insert = sqlite!.prepare('insert into t (body) values (?)');
      sqlite!.transaction(() => {
        for (let i = 0; i < 2000; i++) insert.run('x'.repeat(200));
      })();
      const before = statSync(path).size;
      const written = before + 2000 * 200;
      // The rows are in the WAL; only a checkpoint moves them into the file, and the writer runs none.
      // Waited for whole: the file grows page by page while a checkpoint runs (seen at 256 KiB once).
      let after = before;
      for (let i = 0; i < 200 && after <= written; i++) {
        await pause(50);
        after = statSync(path).size;
      }
      expect(after).toBeGreaterThan(written);
    } finally {
      await checkpointer?.close();
      sqlite?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps the WAL bounded under steady writes: the writer holds a batch while it catches up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jelmore-wal-'));
    const path = join(dir, 'test.db');
    const { sqlite, checkpointer } = openDatabase(`sqlite:${path}`, {
      checkpoints: { intervalMs: 20, catchUpPages: 256 },
    });
    try {
      // Cut at each restart here, so the file's size shows the WAL's (it keeps its largest, else).
      sqlite!.pragma(`journal_size_limit = ${1024 * 1024}`);
      sqlite!.exec('create table t (id integer primary key, k text, body text)');
      sqlite!.exec('create index t_k on t (k)');
      const insert = sqlite!.prepare('insert into t (k, body) values (?, ?)');
      const commit = sqlite!.transaction((n: number) => {
        for (let i = 0; i < n; i++) insert.run(String(Math.random()), 'x'.repeat(300));
      });
      // As the group commit writes: a batch a turn of the event loop, never a moment without one.
      let rows = 0;
      let largestWal = 0;
      let cutBack = 0;
      while (rows < 60_000) {
        const catchUp = checkpointer!.catchUp();
        if (catchUp) await catchUp;
        commit(100);
        rows += 100;
        const wal = statSync(`${path}-wal`).size;
        // Only a restart cuts it to exactly the limit (frames are 4,120 bytes).
        if (wal === 1024 * 1024) cutBack++;
        // Once the worker runs (it takes a moment to start) and the WAL has restarted once.
        if (cutBack > 0) largestWal = Math.max(largestWal, wal);
        await new Promise((r) => setImmediate(r));
      }
      // Without the pause no write ever restarts it, and it holds all of them: over 100 MB.
      expect(cutBack).toBeGreaterThan(10);
      expect(largestWal).toBeLessThan(32 * 1024 * 1024);
      expect(sqlite!.prepare('select count(*) as n from t').get()).toEqual({ n: 60_000 });
    } finally {
      await checkpointer?.close();
      sqlite?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is not started for an in-memory database', () => {
    const { sqlite, checkpointer } = openDatabase('sqlite::memory:');
    expect(checkpointer).toBeUndefined();
    sqlite?.close();
  });
});
