import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { AttachmentResource, SessionResource } from '@jelmore/contracts';
import { StoreConnection } from '@jelmore/sessions';
import { QUERY_MESSAGE_BYTES } from '../apps/server/src/app.setup';
import { startTestServer, TestServer } from './support/app';
import { ELF_BYTES, pdfDocument, pngImage, uploadAttachment } from './support/media';
import { connect, EventCollector, request as wsRequest, startSession } from './support/ws-client';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
const FILE_LIMIT = 4096;
const TURN_LIMIT = 6000;
const BLOCK_LIMIT = 4;

const b64 = (bytes: Buffer) => bytes.toString('base64');
const text = { type: 'text', text: 'look at this' };
const image = (bytes: Buffer, mediaType = 'image/png') => ({
  type: 'image',
  mediaType,
  data: b64(bytes),
});

describe('bad images and documents: a 4xx with a stable code, nothing stored, nothing started', () => {
  let server: TestServer;
  let socket: Socket;
  let bobsUpload: AttachmentResource;
  /** A session of Alice's on the scripted provider, which takes text only. */
  let textOnly: SessionResource;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB}`,
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_MAX_ATTACHMENT_BYTES: String(FILE_LIMIT),
        JELMORE_MAX_TURN_ATTACHMENT_BYTES: String(TURN_LIMIT),
        JELMORE_MAX_CONTENT_BLOCKS: String(BLOCK_LIMIT),
      },
    });
    socket = await connect(server.url, ALICE);
    bobsUpload = await uploadAttachment(server.url, pngImage(3), { key: BOB });
    const started = await startSession(socket, { provider: 'scripted', query: 'hello' });
    textOnly = started.session;
    // Idle before the cases run: the session as each case finds it is the one it must leave.
    await started.events.waitForResults(1);
    await started.events.waitFor((all) => all.some((e) => e.type === 'status' && e.to === 'idle'));
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
  });

  async function stored(): Promise<number> {
    const db = server.app.get(StoreConnection).db;
    const { n } = await db
      .selectFrom('attachments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(n);
  }

  async function sessions(): Promise<SessionResource[]> {
    const res = await request(server.url).get('/v1/sessions').set(auth(ALICE)).expect(200);
    return res.body as SessionResource[];
  }

  const big = Buffer.concat([pngImage(4), Buffer.alloc(FILE_LIMIT)]);
  const halfTurn = Buffer.concat([pngImage(5), Buffer.alloc(TURN_LIMIT / 2)]);
  const cases: Array<[string, unknown[], number, string]> = [
    [
      'corrupt base64',
      [text, { type: 'image', mediaType: 'image/png', data: '%%not*base64%%' }],
      400,
      'INVALID_BASE64',
    ],
    ['an executable renamed .png', [text, image(ELF_BYTES)], 415, 'MEDIA_TYPE_UNSUPPORTED'],
    [
      'a type outside the allow-list',
      [text, image(pngImage(6), 'image/svg+xml')],
      415,
      'MEDIA_TYPE_UNSUPPORTED',
    ],
    ['a PDF declared as PNG', [text, image(pdfDocument())], 400, 'MEDIA_TYPE_MISMATCH'],
    [
      'an image in a document block',
      [text, { type: 'document', data: b64(pngImage(7)) }],
      400,
      'MEDIA_TYPE_MISMATCH',
    ],
    ['a file over the limit', [text, image(big)], 413, 'ATTACHMENT_TOO_LARGE'],
    [
      'a turn over the limit',
      [text, image(halfTurn), image(Buffer.concat([halfTurn, Buffer.from([1])]))],
      413,
      'ATTACHMENT_TOO_LARGE',
    ],
    [
      'too many blocks',
      Array.from({ length: BLOCK_LIMIT + 1 }, () => text),
      400,
      'VALIDATION_FAILED',
    ],
    ['an empty array', [], 400, 'VALIDATION_FAILED'],
    [
      'data and attachmentId both',
      [
        {
          type: 'image',
          data: b64(pngImage(8)),
          attachmentId: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00',
        },
      ],
      400,
      'VALIDATION_FAILED',
    ],
    ['an unknown block type', [{ type: 'video', data: 'AAAA' }], 400, 'VALIDATION_FAILED'],
    [
      'an unknown attachment id',
      [text, { type: 'image', attachmentId: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00' }],
      404,
      'ATTACHMENT_NOT_FOUND',
    ],
  ];

  it.each(cases)('REST create with %s', async (_name, query, status, code) => {
    const [before, count] = [await sessions(), await stored()];
    const res = await request(server.url)
      .post('/v1/sessions')
      .set(auth(ALICE))
      .send({ provider: 'claude', query })
      .expect(status);
    expect(res.body.error.code).toBe(code);
    expect(await sessions()).toEqual(before);
    expect(await stored()).toBe(count);
  });

  it.each(cases)(
    'WS input with %s leaves the session as it was',
    async (_name, content, _status, code) => {
      const [before, count] = [await sessions(), await stored()];
      const ack = await wsRequest(socket, 'session:input', {
        sessionId: textOnly.id,
        text: content,
      });
      expect(ack).toMatchObject({ ok: false, error: { code } });
      expect(await sessions()).toEqual(before);
      expect(await stored()).toBe(count);
    },
  );

  it("another key's attachment id is unknown over REST and WS", async () => {
    const content = [text, { type: 'image', attachmentId: bobsUpload.id }];
    const rest = await request(server.url)
      .post('/v1/sessions')
      .set(auth(ALICE))
      .send({ provider: 'claude', query: content })
      .expect(404);
    expect(rest.body.error.code).toBe('ATTACHMENT_NOT_FOUND');
    const ack = await wsRequest(socket, 'session:create', { provider: 'claude', query: content });
    expect(ack).toMatchObject({ ok: false, error: { code: 'ATTACHMENT_NOT_FOUND' } });
    await request(server.url).get(`/v1/attachments/${bobsUpload.id}`).set(auth(ALICE)).expect(404);
  });

  it('naming a provider that cannot take images is a 400, over REST and WS, with nothing kept', async () => {
    const count = await stored();
    const res = await request(server.url)
      .post('/v1/sessions')
      .set(auth(ALICE))
      .send({ provider: 'scripted', query: [text, image(pngImage(9))] })
      .expect(400);
    expect(res.body.error).toMatchObject({
      code: 'MULTIMODAL_UNSUPPORTED',
      details: { provider: 'scripted', capabilities: ['multimodal'] },
    });
    const ack = await wsRequest(socket, 'session:input', {
      sessionId: textOnly.id,
      text: [text, image(pngImage(9))],
    });
    expect(ack).toMatchObject({ ok: false, error: { code: 'MULTIMODAL_UNSUPPORTED' } });
    expect(await stored()).toBe(count);
    const events = await request(server.url)
      .get(`/v1/sessions/${textOnly.id}/events`)
      .set(auth(ALICE))
      .expect(200);
    expect(
      (events.body.events as Array<{ type: string }>).filter((e) => e.type === 'user'),
    ).toHaveLength(1);
  });

  it('a body larger than a query is read only from a caller with a key', async () => {
    // Just over a query's size in base64, within what the turn limit lets a key holder send.
    const inline = Buffer.alloc(Math.ceil(((QUERY_MESSAGE_BYTES + 2000) * 3) / 4), 'a').toString(
      'base64',
    );
    const body = { provider: 'scripted', query: [text, { type: 'document', data: inline }] };
    const anonymous = await request(server.url).post('/v1/sessions').send(body);
    expect({ status: anonymous.status, code: anonymous.body.error.code }).toEqual({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    // With a key, the body is read: what it holds is then refused for its own reason.
    const keyed = await request(server.url).post('/v1/sessions').set(auth(ALICE)).send(body);
    expect({ status: keyed.status, code: keyed.body.error.code }).toEqual({
      status: 413,
      code: 'ATTACHMENT_TOO_LARGE',
    });
  });

  it('input whose bytes are gone is refused, and the session takes the next input', async () => {
    const upload = await uploadAttachment(server.url, Buffer.from('gone soon\n'), {
      key: ALICE,
      contentType: 'text/plain',
    });
    // As if deleted under the server (a disk cleaned by hand).
    rmSync(join(server.dir, 'data', 'attachments', upload.sha256.slice(0, 2), upload.sha256));
    const gone = await wsRequest(socket, 'session:input', {
      sessionId: textOnly.id,
      text: [text, { type: 'document', attachmentId: upload.id }],
    });
    expect(gone).toMatchObject({ ok: false, error: { code: 'ATTACHMENT_NOT_FOUND' } });
    const events = new EventCollector(socket, textOnly.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: textOnly.id });
    const before = events.ofType('result').length;
    expect(
      await wsRequest(socket, 'session:input', { sessionId: textOnly.id, text: 'still here?' }),
    ).toEqual({ ok: true });
    await events.waitForResults(before + 1);
  });

  it('a text document goes to a text-only provider as text', async () => {
    const notes = Buffer.from('remember the milk\n');
    const ack = await wsRequest(socket, 'session:input', {
      sessionId: textOnly.id,
      text: [
        text,
        { type: 'document', mediaType: 'text/plain', data: b64(notes), name: 'notes.txt' },
      ],
    });
    expect(ack).toEqual({ ok: true });
  });

  it('uploads: an executable, an empty body and a file over the limit are refused', async () => {
    const count = await stored();
    const upload = (bytes: Buffer, type = 'application/octet-stream') =>
      request(server.url)
        .post('/v1/attachments')
        .set(auth(ALICE))
        .set('content-type', type)
        .send(bytes);
    expect((await upload(ELF_BYTES, 'image/png')).body.error.code).toBe('MEDIA_TYPE_UNSUPPORTED');
    expect((await upload(Buffer.alloc(0))).body.error.code).toBe('VALIDATION_FAILED');
    const tooBig = await upload(big);
    expect({ status: tooBig.status, code: tooBig.body.error.code }).toEqual({
      status: 413,
      code: 'ATTACHMENT_TOO_LARGE',
    });
    const multipartTooBig = await request(server.url)
      .post('/v1/attachments')
      .set(auth(ALICE))
      .attach('file', big, 'big.png');
    expect({ status: multipartTooBig.status, code: multipartTooBig.body.error.code }).toEqual({
      status: 413,
      code: 'ATTACHMENT_TOO_LARGE',
    });
    const noFile = await request(server.url)
      .post('/v1/attachments')
      .set(auth(ALICE))
      .field('other', 'x');
    expect({ status: noFile.status, code: noFile.body.error.code }).toEqual({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    expect(await stored()).toBe(count);
    // Still serving.
    await upload(pngImage(10)).expect(201);
  });
});
