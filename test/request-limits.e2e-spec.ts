import request from 'supertest';
import { MAX_QUERY_LENGTH } from '../apps/server/src/api/session.dto';
import { startTestServer, TestServer } from './support/app';

describe('REST body limits', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ env: { JELMORE_SCRIPTED_ENABLED: 'true' } });
  });

  afterAll(async () => {
    await server?.close();
  });

  const createSession = (query: string) =>
    request(server.url).post('/v1/sessions').send({ query, provider: 'scripted' });

  it.each([
    ['CJK (3 bytes each in UTF-8)', '漢'],
    ['astral (4 bytes each in UTF-8, the worst case)', '𝄞'],
  ])('takes a query of the documented 100,000 characters in %s', async (_name, char) => {
    const query = char.repeat(MAX_QUERY_LENGTH);
    expect(Buffer.byteLength(JSON.stringify({ query }))).toBeGreaterThan(100 * 1024);
    const res = await createSession(query).expect(201);
    await request(server.url).delete(`/v1/sessions/${res.body.id}`).expect(200);
  });

  it('still refuses a query one character over the limit with 400 VALIDATION_FAILED', async () => {
    const res = await createSession('漢'.repeat(MAX_QUERY_LENGTH + 1)).expect(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('answers a body too large for any query with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await createSession('x'.repeat(1024 * 1024)).expect(413);
    expect(res.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers a body in an unsupported charset with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await request(server.url)
      .post('/v1/sessions')
      .set('content-type', 'application/json; charset=iso-8859-1')
      .send(JSON.stringify({ query: 'hi', provider: 'scripted' }))
      .expect(415);
    expect(res.body.error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});
