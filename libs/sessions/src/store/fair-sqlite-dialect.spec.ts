import Sqlite from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { FairSqliteDialect } from './fair-sqlite-dialect';

describe('FairSqliteDialect', () => {
  let db: Kysely<{ t: { n: number } }>;
  let sqlite: Sqlite.Database;

  beforeEach(async () => {
    sqlite = new Sqlite(':memory:');
    db = new Kysely({ dialect: new FairSqliteDialect({ database: sqlite }) });
    await sql`create table t (n integer not null)`.execute(db);
  });

  afterEach(() => db.destroy());

  it('runs queries issued together one at a time, in the order they were issued', async () => {
    await Promise.all(
      Array.from({ length: 1000 }, (_, n) => db.insertInto('t').values({ n }).execute()),
    );
    const rows = await sql<{ n: number }>`select n from t order by rowid`.execute(db);
    expect(rows.rows.map((r) => r.n)).toEqual(Array.from({ length: 1000 }, (_, n) => n));
  });

  it('holds the connection for a whole transaction: a query issued meanwhile waits for its end', async () => {
    const order: string[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = db.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ n: 1 }).execute();
      order.push('in transaction');
      await held;
      await trx.insertInto('t').values({ n: 2 }).execute();
      order.push('committing');
    });
    await new Promise((r) => setTimeout(r, 10));
    const outside = db
      .selectFrom('t')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .executeTakeFirstOrThrow()
      .then((row) => order.push(`outside saw ${row.count}`));
    await new Promise((r) => setTimeout(r, 10));
    release();
    await Promise.all([transaction, outside]);
    expect(order).toEqual(['in transaction', 'committing', 'outside saw 2']);
  });

  it("prepares each statement once, and answers as Kysely's own connection does", async () => {
    const prepare = jest.spyOn(sqlite, 'prepare');
    const inserted = await db.insertInto('t').values({ n: 1 }).executeTakeFirstOrThrow();
    await db.insertInto('t').values({ n: 2 }).execute();
    const updated = await db.updateTable('t').set({ n: 3 }).where('n', '<', 3).executeTakeFirst();
    const rows = await db.selectFrom('t').select('n').execute();
    expect(inserted.insertId).toBe(1n);
    expect(updated.numUpdatedRows).toBe(2n);
    expect(rows).toEqual([{ n: 3 }, { n: 3 }]);
    // One INSERT (prepared once for both), one UPDATE, one SELECT.
    expect(prepare).toHaveBeenCalledTimes(3);
  });

  it('passes the connection on when a query fails', async () => {
    const failing = sql`select * from missing`.execute(db);
    const next = db.insertInto('t').values({ n: 3 }).execute();
    // Matched by message: better-sqlite3's error class is the first test file's realm (see session-store.spec).
    await expect(failing).rejects.toMatchObject({
      message: expect.stringContaining('no such table') as unknown,
    });
    await expect(next).resolves.toBeDefined();
  });
});
