import { randomBytes } from 'node:crypto';
import { Kysely, sql } from 'kysely';
import { createDialect } from '../../libs/sessions/src/store/dialect';

/** PostgreSQL and Redis run on this machine and in CI; specs that need them fail (never skip) without. */
export const POSTGRES_URL =
  process.env.JELMORE_TEST_POSTGRES_URL ?? 'postgres://127.0.0.1:5432/test';
export const REDIS_URL = process.env.JELMORE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/7';

/** A schema of its own in the shared PostgreSQL (selected through the URL), dropped by `drop`. */
export async function freshPostgresSchema(
  prefix: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new Kysely<unknown>({ dialect: createDialect(POSTGRES_URL) });
  try {
    await sql`create schema ${sql.id(schema)}`.execute(admin);
  } catch (err) {
    await admin.destroy();
    throw new Error(`PostgreSQL is unreachable at ${POSTGRES_URL}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const options = new URLSearchParams({ options: `-c search_path=${schema}` }).toString();
  return {
    url: `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}${options}`,
    async drop() {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
      await admin.destroy();
    },
  };
}

/** Throws a clear error when Redis does not answer at `url`. */
export async function redisAnswers(url: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw new Error(`Redis is unreachable at ${url}: ${(err as Error).message}`, { cause: err });
  } finally {
    client.disconnect();
  }
}
