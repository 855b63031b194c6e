import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { ContentBlock, SessionResource } from '@jelmore/contracts';
import { FakeGeminiServer } from './fixtures/fake-gemini';
import { FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { pdfDocument, pngImage, sha256, uploadAttachment } from './support/media';
import { connect, startSession, terminateSession } from './support/ws-client';

/** An ACP agent written with the protocol's SDK: its reply names each image and resource with a sha256. */
const FIXTURE = resolve(__dirname, 'fixtures', 'acp-agent.mjs');

/** ACP agents of the config file: one that takes images and PDFs, one that takes neither, one that lies. */
function configFile(dir: string): string {
  const agent = (extra: object) => ({
    type: 'acp',
    command: FIXTURE,
    auto_select: false,
    ...extra,
  });
  const file = join(dir, 'jelmore.json');
  writeFileSync(
    file,
    JSON.stringify({
      providers: {
        seer: agent({ input: ['image', 'pdf'] }),
        blind: agent({}),
        // The entry claims images; the agent announces none in initialize.
        overclaims: agent({
          input: ['image'],
          env: { ACP_FIXTURE_PROMPT_CAPABILITIES: '{"image":false,"embeddedContext":false}' },
        }),
      },
    }),
  );
  return file;
}

const image = (bytes: Buffer): ContentBlock => ({
  type: 'image',
  mediaType: 'image/png',
  data: bytes.toString('base64'),
});
const pdf = (bytes: Buffer, name: string): ContentBlock => ({
  type: 'document',
  mediaType: 'application/pdf',
  data: bytes.toString('base64'),
  name,
});

describe('images and PDFs over ACP: the exact bytes reach the agent, or its model API', () => {
  const gemini = new FakeGeminiServer();
  const openai = new FakeOpenAIServer();
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-multimodal-acp-'));
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    // The gemini-acp preset reads the gemini folder's settings from the environment, as in production.
    process.env.JELMORE_GEMINI_BASE_URL = await gemini.start();
    process.env.JELMORE_GEMINI_API_KEY = 'test-key-not-secret';
    server = await startTestServer({
      dir,
      env: { JELMORE_CONFIG: configFile(dir), JELMORE_OPENCODE_BASE_URL: await openai.start() },
    });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await gemini.stop();
    await openai.stop();
    delete process.env.JELMORE_GEMINI_BASE_URL;
    delete process.env.JELMORE_GEMINI_API_KEY;
    rmSync(dir, { recursive: true, force: true });
  });

  const terminate = (session: SessionResource) => terminateSession(server.url, session);

  it('an agent from the config gets an image block and a PDF resource; an upload is reused by id', async () => {
    const png = pngImage(11);
    const spec = pdfDocument('seer spec');
    const { session, events } = await startSession(socket, {
      provider: 'seer',
      query: [{ type: 'text', text: 'what is shown?' }, image(png), pdf(spec, 'spec.pdf')],
    });
    await events.waitForResults(1);
    const reply = events.ofType('result')[0].text;
    expect(reply).toContain(`image image/png sha256:${sha256(png)}`);
    expect(reply).toContain(
      `resource attachment://${sha256(spec)}/spec.pdf application/pdf sha256:${sha256(spec)}`,
    );

    const upload = pngImage(12);
    const uploaded = await uploadAttachment(server.url, upload);
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({
        text: [
          { type: 'text', text: 'and this?' },
          { type: 'image', attachmentId: uploaded.id },
        ],
      })
      .expect(202);
    await events.waitForResults(2);
    expect(events.ofType('result')[1].text).toContain(`image image/png sha256:${sha256(upload)}`);
    await terminate(session);
  });

  it('naming an agent whose entry lists no images with an image is a 400, and no session starts', async () => {
    const { body } = await request(server.url)
      .post('/v1/sessions')
      .send({ provider: 'blind', query: [{ type: 'text', text: 'see?' }, image(pngImage(13))] })
      .expect(400);
    expect(body).toMatchObject({
      error: {
        code: 'MULTIMODAL_UNSUPPORTED',
        details: { provider: 'blind', capabilities: ['multimodal'] },
      },
    });
    const { body: sessions } = await request(server.url).get('/v1/sessions').expect(200);
    expect((sessions as SessionResource[]).filter((s) => s.provider === 'blind')).toEqual([]);
  });

  it('an agent that did not announce images gets no image: the turn fails, the session goes on', async () => {
    const { session, events } = await startSession(socket, {
      provider: 'overclaims',
      query: [{ type: 'text', text: 'see?' }, image(pngImage(14))],
    });
    await events.waitForResults(1);
    expect(events.ofType('error')).toEqual([
      expect.objectContaining({
        code: 'MULTIMODAL_UNSUPPORTED',
        message: expect.stringContaining('promptCapabilities.image'),
      }),
    ]);
    await request(server.url)
      .post(`/v1/sessions/${session.id}/input`)
      .send({ text: 'text then' })
      .expect(202);
    await events.waitForResults(2);
    // The agent counts its turns: the refused one never reached it.
    expect(events.ofType('result')[1].text).toContain('turn 1; previous: none');
    await terminate(session);
  });

  it('gemini-acp: the image and the PDF reach the Gemini API as inlineData, byte for byte', async () => {
    const png = pngImage(21);
    const spec = pdfDocument('gemini spec');
    const { session, events } = await startSession(socket, {
      provider: 'gemini-acp',
      query: [{ type: 'text', text: 'describe both' }, image(png), pdf(spec, 'spec.pdf')],
    });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('error')).toEqual([]);
    expect(gemini.inlineData()).toEqual(
      expect.arrayContaining([
        { mimeType: 'image/png', sha256: sha256(png) },
        { mimeType: 'application/pdf', sha256: sha256(spec) },
      ]),
    );
    await terminate(session);
  });

  it('opencode-acp: the image and the PDF reach the OpenAI API as data URLs, byte for byte', async () => {
    const png = pngImage(31);
    const spec = pdfDocument('opencode spec');
    const { session, events } = await startSession(socket, {
      provider: 'opencode-acp',
      query: [{ type: 'text', text: 'describe both' }, image(png), pdf(spec, 'spec.pdf')],
    });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('error')).toEqual([]);
    expect(openai.dataUrls()).toEqual(
      expect.arrayContaining([
        { part: 'image_url', mediaType: 'image/png', sha256: sha256(png) },
        { part: 'file', mediaType: 'application/pdf', sha256: sha256(spec) },
      ]),
    );
    await terminate(session);
  });
});
