import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import {
  FakeOpenAIResponsesServer,
  latestUserImages,
  latestUserText,
  ResponsesRequest,
  userImages,
} from './fixtures/fake-openai-responses';
import { startTestServer, TestServer } from './support/app';
import { pdfDocument, pngImage, sha256, uploadAttachment } from './support/media';
import { eventually } from './support/processes';
import {
  connect,
  EventCollector,
  request as wsRequest,
  terminateSession,
} from './support/ws-client';

describe('Codex multimodal input (real codex exec --image, fake OpenAI Responses API)', () => {
  const models = new FakeOpenAIResponsesServer();
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    process.env.JELMORE_CODEX_BASE_URL = await models.start();
    process.env.JELMORE_CODEX_API_KEY = 'test-key-not-secret';
    server = await startTestServer();
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
    delete process.env.JELMORE_CODEX_BASE_URL;
    delete process.env.JELMORE_CODEX_API_KEY;
  });

  const requestFor = (text: string): ResponsesRequest[] =>
    models.requests.filter((r) => latestUserText(r.input).includes(text));
  /** Where the provider writes a session's `--image` files: the tenant's agent home (no API keys: `local`). */
  const imageDir = (sessionId: string) =>
    join(server.dir, 'data', 'agents', 'codex', 'tenants', 'local', 'images', sessionId);
  const filesIn = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);

  it('sends a query`s image, an uploaded image on the next turn, and logs both turns by reference', async () => {
    const first = pngImage(101, 16, 16);
    const second = pngImage(102, 24, 12);
    const created = await request(server.url)
      .post('/v1/sessions')
      .send({
        provider: 'codex',
        query: [
          { type: 'text', text: 'what colour is this square?' },
          { type: 'image', mediaType: 'image/png', data: first.toString('base64') },
        ],
      })
      .expect(201);
    const session = created.body as SessionResource;
    expect(session).toMatchObject({ provider: 'codex', title: 'what colour is this square?' });
    const events = new EventCollector(socket, session.id);
    await wsRequest(socket, 'session:subscribe', { sessionId: session.id });
    await events.waitForResults(1, 60_000);

    // Turn 1: the exact bytes reached the model API, with the text; the prompt says where the image stood.
    const [turn1] = requestFor('what colour is this square?');
    expect(latestUserImages(turn1.input).map(sha256)).toEqual([sha256(first)]);
    expect(latestUserText(turn1.input)).toBe('what colour is this square?\n\n[Image #1]');
    expect(events.ofType('result')[0].text).toBe('Echo: what colour is this square?\n\n[Image #1]');
    // The file was only for the turn's process (Codex names its path to the model), never in the workspace.
    expect(JSON.stringify(turn1.input)).toContain(
      `path=\\"${join(imageDir(session.id), `${sha256(first)}.png`)}\\"`,
    );
    expect(await eventually(() => filesIn(imageDir(session.id)).length === 0)).toBe(true);
    expect(readdirSync(session.cwd).filter((f) => /\.(png|jpg|gif|webp)$/.test(f))).toEqual([]);

    // Turn 2: an uploaded image by id, and a text document, which Codex reads as text.
    const attachment = await uploadAttachment(server.url, second);
    expect(attachment).toMatchObject({
      mediaType: 'image/png',
      size: second.length,
      sha256: sha256(second),
    });
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({
        text: [
          { type: 'text', text: 'and this one, with the notes?' },
          { type: 'image', attachmentId: attachment.id },
          {
            type: 'document',
            mediaType: 'text/markdown',
            name: 'notes.md',
            data: Buffer.from('# Notes\nthe second is wider').toString('base64'),
          },
        ],
      })
      .expect((res) => expect(res.status).toBeLessThan(300));
    await events.waitForResults(2, 60_000);

    const [turn2] = requestFor('and this one, with the notes?');
    expect(latestUserImages(turn2.input).map(sha256)).toEqual([sha256(second)]);
    expect(latestUserText(turn2.input)).toBe(
      'and this one, with the notes?\n\n[Image #1]\n\n<document name="notes.md">\n# Notes\nthe second is wider\n</document>',
    );
    // The resumed thread resends turn 1's image from its own record: its file is long gone.
    expect(userImages(turn2.input).map(sha256)).toEqual([sha256(first), sha256(second)]);
    expect(await eventually(() => filesIn(imageDir(session.id)).length === 0)).toBe(true);

    // The log: a `user` event first in each turn, attachments by reference, never their bytes.
    const log = await request(server.url).get(`/v1/sessions/${session.id}/events`).expect(200);
    const logged = (log.body as { events: SessionEvent[] }).events;
    const users = logged.filter((e) => e.type === 'user');
    expect(users).toHaveLength(2);
    expect(users[0]).toMatchObject({
      content: [
        { type: 'text', text: 'what colour is this square?' },
        { type: 'image', mediaType: 'image/png', size: first.length, sha256: sha256(first) },
      ],
    });
    expect(users[1]).toMatchObject({
      content: [
        { type: 'text', text: 'and this one, with the notes?' },
        {
          type: 'image',
          attachmentId: attachment.id,
          mediaType: 'image/png',
          sha256: sha256(second),
        },
        { type: 'document', mediaType: 'text/markdown', name: 'notes.md' },
      ],
    });
    expect(logged.map((e) => e.type).filter((t) => t !== 'status')).toEqual([
      'user',
      'assistant',
      'usage',
      'result',
      'user',
      'assistant',
      'usage',
      'result',
    ]);
    const json = JSON.stringify(logged);
    for (const bytes of [first, second]) expect(json).not.toContain(bytes.toString('base64'));

    await terminateSession(server.url, session);
    expect(existsSync(imageDir(session.id))).toBe(false);
  });

  it('refuses a PDF for codex with a code: nothing reaches the model', async () => {
    const before = models.requests.length;
    const refused = await request(server.url)
      .post('/v1/sessions')
      .send({
        provider: 'codex',
        query: [
          { type: 'text', text: 'summarise the attached spec' },
          {
            type: 'document',
            mediaType: 'application/pdf',
            data: pdfDocument('codex never sees this').toString('base64'),
          },
        ],
      })
      .expect(400);
    expect(refused.body).toMatchObject({
      error: {
        code: 'MULTIMODAL_UNSUPPORTED',
        details: { provider: 'codex', capabilities: ['documents'] },
      },
    });
    expect(models.requests.length).toBe(before);
  });
});
