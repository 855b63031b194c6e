import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { lastUserContent } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { pdfDocument, pngImage, sha256, uploadAttachment } from './support/media';
import { waitUntil } from './support/processes';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const auth = (key: string) => ({ Authorization: `Bearer ${key}` });

type Block = { type: string; [key: string]: unknown };

/** The image and document blocks of the model request that carried `marker`, as the CLI sent them. */
function blocksSentWith(server: TestServer, marker: string): Block[] {
  const request = server.fake
    .agentRequests()
    .find((r) =>
      lastUserContent(r).some((b) => b.type === 'text' && String(b.text).includes(marker)),
    );
  return request ? lastUserContent(request) : [];
}

const sourceOf = (block: Block | undefined) =>
  block?.source as { type: string; media_type: string; data: string } | undefined;

describe('Images and documents for Claude Code (real CLI, fake Anthropic API)', () => {
  let server: TestServer;
  const api = () => request(server.url);

  beforeAll(async () => {
    server = await startTestServer({ env: { JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB}` } });
  });

  afterAll(async () => {
    await server?.close();
  });

  async function events(id: string, key = ALICE): Promise<SessionEvent[]> {
    const res = await api().get(`/v1/sessions/${id}/events`).set(auth(key)).expect(200);
    return (res.body as { events: SessionEvent[] }).events;
  }

  async function waitForResults(id: string, count: number): Promise<SessionEvent[]> {
    let seen: SessionEvent[] = [];
    const done = await waitUntil(async () => {
      seen = await events(id);
      return seen.filter((e) => e.type === 'result').length >= count;
    }, 60_000);
    if (!done) throw new Error(`no result ${count}: ${JSON.stringify(seen.slice(-3))}`);
    return seen;
  }

  it('delivers inline images and documents byte for byte, logs the turn, and reuses an upload', async () => {
    const image = pngImage(11);
    const pdf = pdfDocument('quarterly figures');
    const notes = '# Notes\nThe build is red since Monday.\n';
    const created = await api()
      .post('/v1/sessions')
      .set(auth(ALICE))
      .send({
        provider: 'claude',
        query: [
          { type: 'text', text: 'turn-one: what is wrong on this page?\nSecond line.' },
          { type: 'image', mediaType: 'image/png', data: image.toString('base64') },
          {
            type: 'document',
            mediaType: 'application/pdf',
            data: pdf.toString('base64'),
            name: 'q3.pdf',
          },
          {
            type: 'document',
            mediaType: 'text/markdown',
            data: Buffer.from(notes).toString('base64'),
            name: 'notes.md',
          },
        ],
      })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session.title).toBe('turn-one: what is wrong on this page?');
    await waitForResults(session.id, 1);

    const sent = blocksSentWith(server, 'turn-one');
    const [sentImage, sentPdf, sentNotes] = sent.filter((b) => b.type !== 'text');
    expect(sentImage).toMatchObject({
      type: 'image',
      source: { type: 'base64', media_type: 'image/png' },
    });
    expect(sha256(Buffer.from(sourceOf(sentImage)!.data, 'base64'))).toBe(sha256(image));
    expect(sentPdf).toMatchObject({
      type: 'document',
      title: 'q3.pdf',
      source: { type: 'base64', media_type: 'application/pdf' },
    });
    expect(sha256(Buffer.from(sourceOf(sentPdf)!.data, 'base64'))).toBe(sha256(pdf));
    expect(sentNotes).toMatchObject({
      type: 'document',
      title: 'notes.md',
      source: { type: 'text', data: notes },
    });

    // Turn 2 names an upload by id; its bytes reach the model, and nothing is uploaded twice.
    const second = pngImage(12);
    const uploaded = await uploadAttachment(server.url, second, { key: ALICE });
    expect(uploaded).toMatchObject({
      mediaType: 'image/png',
      size: second.length,
      sha256: sha256(second),
    });
    await api()
      .post(`/v1/sessions/${session.id}/input`)
      .set(auth(ALICE))
      .send({
        text: [
          { type: 'text', text: 'turn-two: and this one?' },
          { type: 'image', attachmentId: uploaded.id },
        ],
      })
      .expect(202);
    const log = await waitForResults(session.id, 2);
    const secondImage = blocksSentWith(server, 'turn-two').find((b) => b.type === 'image');
    expect(sha256(Buffer.from(sourceOf(secondImage)!.data, 'base64'))).toBe(sha256(second));

    // The replay shows what was asked, with what: references, never the bytes.
    const users = log.filter((e) => e.type === 'user');
    expect(users).toHaveLength(2);
    expect(JSON.stringify(users)).not.toContain(image.toString('base64').slice(0, 40));
    const [first, next] = users.map((e) => (e.type === 'user' ? e.content : []));
    expect(
      first.map((b) => (b.type === 'text' ? 'text' : `${b.type} ${b.mediaType} ${b.sha256}`)),
    ).toEqual([
      'text',
      `image image/png ${sha256(image)}`,
      `document application/pdf ${sha256(pdf)}`,
      `document text/markdown ${sha256(notes)}`,
    ]);
    expect(next[1]).toMatchObject({
      type: 'image',
      attachmentId: uploaded.id,
      sha256: sha256(second),
    });
    // Each turn's user event comes before anything the agent did in it.
    const results = log.filter((e) => e.type === 'result');
    expect(users[0].seq).toBeLessThan(results[0].seq);
    expect(users[1].seq).toBeGreaterThan(results[0].seq);
    expect(
      log.filter((e) => e.seq > users[1].seq && e.seq < results[1].seq).length,
    ).toBeGreaterThan(0);

    // The inline image became an attachment its owner can fetch (the dashboard's thumbnails).
    const inlineRef = first[1] as { attachmentId: string };
    const fetched = await api()
      .get(`/v1/attachments/${inlineRef.attachmentId}`)
      .set(auth(ALICE))
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200)
      .expect('content-type', 'image/png');
    expect(sha256(fetched.body as Buffer)).toBe(sha256(image));

    // Listing shows the title.
    const list = await api().get('/v1/sessions').set(auth(ALICE)).expect(200);
    expect((list.body as SessionResource[]).find((s) => s.id === session.id)?.title).toBe(
      session.title,
    );
    await api().delete(`/v1/sessions/${session.id}`).set(auth(ALICE)).expect(200);
  });

  it("keeps one key's attachments from another: not readable, not usable", async () => {
    const mine = await uploadAttachment(server.url, pngImage(21), { key: ALICE });
    await api()
      .get(`/v1/attachments/${mine.id}`)
      .set(auth(BOB))
      .expect(404)
      .expect((res) => expect(res.body.error.code).toBe('ATTACHMENT_NOT_FOUND'));
    const before = await api().get('/v1/sessions').set(auth(BOB)).expect(200);
    const refused = await api()
      .post('/v1/sessions')
      .set(auth(BOB))
      .send({
        provider: 'claude',
        query: [
          { type: 'text', text: 'x' },
          { type: 'image', attachmentId: mine.id },
        ],
      })
      .expect(404);
    expect(refused.body.error.code).toBe('ATTACHMENT_NOT_FOUND');
    const after = await api().get('/v1/sessions').set(auth(BOB)).expect(200);
    expect(after.body).toEqual(before.body);
  });

  it("takes curl's --data-binary upload (sent as a form) byte for byte", async () => {
    const image = pngImage(22, 200, 200);
    // fetch, as curl does: supertest would encode a Buffer sent as a form.
    const res = await fetch(`${server.url}/v1/attachments`, {
      method: 'POST',
      headers: { ...auth(ALICE), 'content-type': 'application/x-www-form-urlencoded' },
      body: image,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      mediaType: 'image/png',
      size: image.length,
      sha256: sha256(image),
    });
  });

  it('takes a multipart upload and finds its type in the bytes, not the name or the header', async () => {
    const pdf = pdfDocument('multipart');
    const res = await api()
      .post('/v1/attachments')
      .set(auth(ALICE))
      .attach('file', pdf, { filename: 'picture.png', contentType: 'image/png' })
      .expect(201);
    expect(res.body).toMatchObject({
      mediaType: 'application/pdf',
      sha256: sha256(pdf),
      size: pdf.length,
    });
  });
});
