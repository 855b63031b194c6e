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

  it('is not started for an in-memory database', () => {
    const { sqlite, checkpointer } = openDatabase('sqlite::memory:');
    expect(checkpointer).toBeUndefined();
    sqlite?.close();
  });
});
