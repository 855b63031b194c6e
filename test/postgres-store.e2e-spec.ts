import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, sql } from 'kysely';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { createDialect } from '../libs/sessions/src/store/dialect';
import { startTestServer, TestServer } from './support/app';
import { waitUntil } from './support/processes';

/** PostgreSQL runs on this machine and in CI; this spec fails (never skips) when it does not. */
const POSTGRES_URL = process.env.JELMORE_TEST_POSTGRES_URL ?? 'postgres://127.0.0.1:5432/test';

/** The real server with JELMORE_DATABASE_URL on PostgreSQL, in a schema of its own, across a restart. */
describe('the server on a PostgreSQL store', () => {
  const schema = `jelmore_e2e_${randomBytes(6).toString('hex')}`;
  const databaseUrl = `${POSTGRES_URL}${POSTGRES_URL.includes('?') ? '&' : '?'}${new URLSearchParams(
    { options: `-c search_path=${schema}` },
  ).toString()}`;
  const admin = new Kysely<unknown>({ dialect: createDialect(POSTGRES_URL) });
  const env = { JELMORE_DATABASE_URL: databaseUrl, JELMORE_SCRIPTED_ENABLED: 'true' };
  let server: TestServer | undefined;

  beforeAll(async () => {
    await sql`create schema ${sql.id(schema)}`.execute(admin).catch((err: Error) => {
      throw new Error(`PostgreSQL is unreachable at ${POSTGRES_URL}: ${err.message}`, {
        cause: err,
      });
    });
  });

  afterAll(async () => {
    await server?.close();
    await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(admin);
    await admin.destroy();
  });

  const http = () => request(server!.url);
  const state = async (id: string) => (await http().get(`/v1/sessions/${id}`)).body.state;
  const events = async (id: string) =>
    (await http().get(`/v1/sessions/${id}/events`).expect(200)).body.events as SessionEvent[];
  /** What PostgreSQL itself holds, read past the server. */
  const stored = async (id: string) => {
    const session = await sql<{ provider: string; state: string; input_tokens: number }>`
      select provider, state, input_tokens from ${sql.id(schema, 'sessions')} where id = ${id}`.execute(
      admin,
    );
    const rows = await sql<{ seq: number }>`
      select seq from ${sql.id(schema, 'events')} where session_id = ${id} order by seq`.execute(
      admin,
    );
    return { session: session.rows[0], seqs: rows.rows.map((r) => r.seq) };
  };

  it('runs a scripted session over REST, with its events in PostgreSQL, and keeps them across a restart', async () => {
    server = await startTestServer({ env });
    const dir = server.dir;

    const created = await http()
      .post('/v1/sessions')
      .send({ query: 'first turn [[events 5]] [[rate 0]]', provider: 'scripted' })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session).toMatchObject({ provider: 'scripted', model: 'scripted' });
    expect(await waitUntil(async () => (await state(session.id)) === 'idle', 20_000)).toBe(true);
    await http()
      .post(`/v1/sessions/${session.id}/input`)
      .send({ text: 'second turn [[events 3]] [[rate 0]]' })
      .expect(202);
    expect(
      await waitUntil(
        async () => (await events(session.id)).filter((e) => e.type === 'result').length === 2,
        20_000,
      ),
    ).toBe(true);

    const served = await events(session.id);
    expect(served.map((e) => e.seq)).toEqual(served.map((_, i) => i + 1));
    expect(served[0]).toMatchObject({ type: 'status', from: null, to: 'starting' });
    expect(served.filter((e) => e.type === 'assistant')).toHaveLength(8);
    // Paging after a seq reads the same rows.
    const after3 = await http().get(`/v1/sessions/${session.id}/events?after=3`).expect(200);
    expect(after3.body.events).toEqual(served.slice(3));

    const inPostgres = await stored(session.id);
    expect(inPostgres.session).toMatchObject({ provider: 'scripted' });
    expect(inPostgres.seqs).toEqual(served.map((e) => e.seq));
    // Nothing went to the default SQLite file.
    expect(existsSync(join(dir, 'data', 'jelmore.db'))).toBe(false);

    // A second process on the same schema: migrations find nothing to do, the session and its log are there.
    await server.close();
    server = await startTestServer({ env, dir });
    const listed = (await http().get('/v1/sessions').expect(200)).body as SessionResource[];
    expect(listed.map((s) => s.id)).toContain(session.id);
    const replayed = await events(session.id);
    expect(replayed.slice(0, served.length)).toEqual(served);

    await http().delete(`/v1/sessions/${session.id}`).expect(200);
    expect(
      await waitUntil(async () => (await stored(session.id)).session?.state === 'terminated'),
    ).toBe(true);
  });
});
