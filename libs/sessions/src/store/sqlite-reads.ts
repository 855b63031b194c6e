import type Sqlite from 'better-sqlite3';
import type { Compilable } from 'kysely';

/** Distinct statements kept prepared; past it they are all dropped (an `in (…)` list makes new SQL). */
const MAX_STATEMENTS = 200;

type Row = Record<string, unknown>;

interface Prepared {
  statement: Sqlite.Statement;
  toRow: (values: unknown[]) => Row;
}

/**
 * Kysely's selects, run on the SQLite connection itself: each statement prepared once (Kysely's driver
 * prepares it again at every query), and rows read as arrays of values, each made into an object here
 * (see rowMaker). better-sqlite3 builds a row object through V8's API one property at a time: for 100
 * sessions of 23 columns that is about 300 µs, half of what a list costs (bench/ rest). Synchronous,
 * like EventStore's appends: a read runs at once, not after the queries queued for Kysely's connection.
 */
export class SqliteReads {
  private readonly statements = new Map<string, Prepared>();

  constructor(private readonly db: Sqlite.Database) {}

  all<R>(query: Compilable<R>): R[] {
    const { sql, parameters } = query.compile();
    const { statement, toRow } = this.prepared(sql);
    return (statement.all(parameters) as unknown[][]).map(toRow) as R[];
  }

  private prepared(sql: string): Prepared {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      const statement = this.db.prepare(sql).raw(true);
      prepared = { statement, toRow: rowMaker(statement.columns().map((c) => c.name)) };
      this.statements.set(sql, prepared);
    }
    return prepared;
  }
}

/**
 * A function making a statement's row from its values as one object literal: V8 gives every row the
 * same shape at once. Setting the columns one by one in a loop (a keyed store per value) took about 1 µs
 * a row of 23 columns, the literal a few hundredths of that. The names are the statement's own columns,
 * quoted as JSON; a name the literal would not treat as a plain property falls back to the loop.
 */
export function rowMaker(columns: string[]): (values: unknown[]) => Row {
  if (columns.includes('__proto__')) {
    return (values) => {
      const row: Row = {};
      for (let i = 0; i < columns.length; i++)
        Object.defineProperty(row, columns[i], {
          value: values[i],
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return row;
    };
  }
  const fields = columns.map((name, i) => `${JSON.stringify(name)}: values[${i}]`).join(', ');
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- generated from column names, quoted
  return new Function('values', `return { ${fields} };`) as (values: unknown[]) => Row;
}
