import request from 'supertest';
import { MAX_QUERY_LENGTH } from '../apps/server/src/api/turn-content';
import { maxMessageBytes } from '../apps/server/src/app.setup';
import { startTestServer, TestServer } from './support/app';

/** Small, so that a body over the limit is quick to send: the limit grows with it. */
const TURN_ATTACHMENTS = 64 * 1024;

describe('REST body limits', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_MAX_ATTACHMENT_BYTES: String(TURN_ATTACHMENTS),
        JELMORE_MAX_TURN_ATTACHMENT_BYTES: String(TURN_ATTACHMENTS),
      },
    });
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

  it("takes the largest query with a turn's largest attachments inline (base64)", async () => {
    const document = Buffer.alloc(TURN_ATTACHMENTS, 'a').toString('base64');
    const res = await request(server.url)
      .post('/v1/sessions')
      .send({
        provider: 'scripted',
        query: [
          { type: 'text', text: '𝄞'.repeat(MAX_QUERY_LENGTH) },
          { type: 'document', mediaType: 'text/plain', data: document },
        ],
      })
      .expect(201);
    await request(server.url).delete(`/v1/sessions/${res.body.id}`).expect(200);
  });

  it("answers a body larger than a query and a turn's attachments need with 413 PAYLOAD_TOO_LARGE", async () => {
    const res = await createSession('x'.repeat(maxMessageBytes(TURN_ATTACHMENTS) + 1)).expect(413);
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
