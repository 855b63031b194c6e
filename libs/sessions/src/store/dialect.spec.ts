import { Kysely, sql } from 'kysely';
import { createDialect } from './dialect';

const POSTGRES_URL = process.env.JELMORE_TEST_POSTGRES_URL ?? 'postgres://127.0.0.1:5432/test';

describe('createDialect', () => {
  it('refuses another scheme, naming both accepted forms and not the rest of the URL', () => {
    expect(() => createDialect('mysql://app:s3cret@db.internal/jelmore')).toThrow(
      "Unsupported database URL scheme 'mysql:': expected sqlite:<path> or postgres://...",
    );
  });

  it.each(['postgres:', 'postgresql:'])(
    'connects to PostgreSQL with a %s// URL',
    async (scheme) => {
      const url = POSTGRES_URL.replace(/^postgres(ql)?:/, scheme);
      const db = new Kysely<unknown>({ dialect: createDialect(url) });
      try {
        const rows = await sql<{ one: number }>`select 1 as one`.execute(db).then(
          (result) => result.rows,
          (err: Error) => {
            throw new Error(`PostgreSQL is unreachable at ${url}: ${err.message}`, { cause: err });
          },
        );
        expect(rows).toEqual([{ one: 1 }]);
      } finally {
        await db.destroy();
      }
    },
  );
});
