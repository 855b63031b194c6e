import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionEvent } from '@jelmore/contracts';
import { ChatRequest, contentText, FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { pdfDocument, pngImage, sha256, uploadAttachment } from './support/media';
import { connect, startSession, request as wsRequest } from './support/ws-client';

/** The last user message of the model request whose last user message holds `marker`. */
function lastUserMessage(models: FakeOpenAIServer, marker: string): unknown[] {
  const sent = models.agentRequests().map(lastUser);
  const found = sent.find((content) => contentText(content).includes(marker));
  if (!found) throw new Error(`no model request with "${marker}"`);
  return Array.isArray(found) ? (found as unknown[]) : [{ type: 'text', text: found }];
}

function lastUser(req: ChatRequest): unknown {
  return [...req.messages].reverse().find((m) => m.role === 'user')?.content;
}

/** A user message's parts as the model read them: text, or an attachment's kind, type and bytes' hash. */
function described(parts: unknown[]): string[] {
  return parts.map((part) => {
    const p = part as {
      type: string;
      text?: string;
      image_url?: { url: string };
      file?: { file_data: string };
    };
    if (p.type === 'text') return `text ${p.text}`;
    const url = p.type === 'image_url' ? p.image_url?.url : p.file?.file_data;
    const match = /^data:([^;,]+);base64,(.*)$/s.exec(url ?? '');
    if (!match) return `${p.type} (no data URL)`;
    return `${p.type} ${match[1]} ${sha256(Buffer.from(match[2], 'base64'))}`;
  });
}

describe('OpenCode images and PDFs (real opencode serve, fake OpenAI-compatible API)', () => {
  const models = new FakeOpenAIServer();
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    const baseUrl = await models.start();
    server = await startTestServer({
      env: { JELMORE_OPENCODE_BASE_URL: baseUrl, JELMORE_OPENCODE_API_KEY: 'test-key-not-secret' },
    });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
  });

  it('sends text, a PNG, a PDF and a text document in order, byte for byte; an upload by id next', async () => {
    const png = pngImage(41);
    const spec = pdfDocument('opencode native spec');
    const notes = '# Notes\nthe square is teal\n';
    const { session, events } = await startSession(socket, {
      provider: 'opencode',
      query: [
        { type: 'text', text: 'turn-one: describe both' },
        { type: 'image', mediaType: 'image/png', data: png.toString('base64') },
        {
          type: 'document',
          mediaType: 'application/pdf',
          data: spec.toString('base64'),
          name: 'spec.pdf',
        },
        {
          type: 'document',
          mediaType: 'text/markdown',
          data: Buffer.from(notes).toString('base64'),
          name: 'notes.md',
        },
      ],
    });
    // Selection let the images and the PDF through: the provider claims both capabilities.
    expect(session.provider).toBe('opencode');
    await events.waitForResults(1, 60_000);
    expect(events.ofType('error')).toEqual([]);
    expect(described(lastUserMessage(models, 'turn-one'))).toEqual([
      'text turn-one: describe both',
      `image_url image/png ${sha256(png)}`,
      `file application/pdf ${sha256(spec)}`,
      `text <document name="notes.md">\n${notes}\n</document>`,
    ]);

    const upload = pngImage(42);
    const uploaded = await uploadAttachment(server.url, upload);
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({
        text: [
          { type: 'text', text: 'turn-two: and this?' },
          { type: 'image', attachmentId: uploaded.id },
        ],
      })
      .expect(202);
    await events.waitForResults(2, 60_000);
    expect(described(lastUserMessage(models, 'turn-two'))).toEqual([
      'text turn-two: and this?',
      `image_url image/png ${sha256(upload)}`,
    ]);

    // The log: a `user` event first in each turn, the attachments by reference.
    const { body } = await request(server.url).get(`/v1/sessions/${session.id}/events`).expect(200);
    const log = (body as { events: SessionEvent[] }).events;
    const users = log.flatMap((e) => (e.type === 'user' ? [e.content] : []));
    expect(
      users.map((content) =>
        content.map((b) => (b.type === 'text' ? 'text' : `${b.type} ${b.mediaType} ${b.sha256}`)),
      ),
    ).toEqual([
      [
        'text',
        `image image/png ${sha256(png)}`,
        `document application/pdf ${sha256(spec)}`,
        `document text/markdown ${sha256(notes)}`,
      ],
      ['text', `image image/png ${sha256(upload)}`],
    ]);
    expect(JSON.stringify(log)).not.toContain(png.toString('base64').slice(0, 40));
    await wsRequest(socket, 'session:terminate', { sessionId: session.id });
  });
});
