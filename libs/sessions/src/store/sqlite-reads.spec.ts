import Sqlite from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { rowMaker, SqliteReads } from './sqlite-reads';

interface Db {
  t: { id: string; n: number | null; note: string | null };
}

describe('SqliteReads', () => {
  let sqlite: Sqlite.Database;
  let db: Kysely<Db>;

  beforeEach(() => {
    sqlite = new Sqlite(':memory:');
    sqlite.exec('create table t (id text primary key, n integer, note text)');
    const insert = sqlite.prepare('insert into t values (?, ?, ?)');
    insert.run('a', 1, null);
    insert.run('b', 2, 'two');
    db = new Kysely<Db>({ dialect: new SqliteDialect({ database: sqlite }) });
  });

  afterEach(() => sqlite.close());

  it("reads a select's rows as Kysely does, each statement prepared once", async () => {
    const reads = new SqliteReads(sqlite);
    const query = (min: number) =>
      db.selectFrom('t').select(['id', 'n', 'note']).where('n', '>=', min).orderBy('id');
    const throughKysely = await query(1).execute();
    const prepare = jest.spyOn(sqlite, 'prepare');

    expect(reads.all(query(1))).toEqual(throughKysely);
    expect(reads.all(query(2))).toEqual([{ id: 'b', n: 2, note: 'two' }]);
    expect(reads.all(db.selectFrom('t').select((eb) => eb.fn.max('n').as('last')))).toEqual([
      { last: 2 },
    ]);
    // The same SQL twice (other parameters), and another statement.
    expect(prepare).toHaveBeenCalledTimes(2);
  });

  it('makes rows whatever the column names: quotes, a duplicate (the last wins), __proto__', () => {
    expect(rowMaker(['a"b', "c'd", 'e\\f\n', 'x', 'x'])([1, 2, 3, 4, 5])).toEqual({
      'a"b': 1,
      "c'd": 2,
      'e\\f\n': 3,
      x: 5,
    });
    const row = rowMaker(['id', '__proto__'])(['a', { polluted: true }]);
    expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
    expect(Object.keys(row)).toEqual(['id', '__proto__']);
    expect((row as { polluted?: boolean }).polluted).toBeUndefined();
  });
});
