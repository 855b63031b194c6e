import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionEvent } from '@jelmore/contracts';
import { FakeGeminiServer } from './fixtures/fake-gemini';
import { FakeOpenAIResponsesServer, userImages } from './fixtures/fake-openai-responses';
import { startTestServer, TestServer } from './support/app';
import { jelmore, UUID } from './support/cli';
import { pngImage, sha256 } from './support/media';

/**
 * The promise, as a user types it: `jelmore run --image screenshot.png "what is wrong on this
 * page?"` against Claude Code, Codex and Gemini CLI (over ACP), each real CLI sending the screenshot's
 * exact bytes to its (fake) model API.
 */
describe('jelmore run --image against three agents (real CLIs, fake model APIs)', () => {
  const codexModels = new FakeOpenAIResponsesServer();
  const gemini = new FakeGeminiServer();
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-cli-image-'));
  let server: TestServer;

  beforeAll(async () => {
    // Codex and the gemini-acp preset read their providers' settings from the environment.
    process.env.JELMORE_CODEX_BASE_URL = await codexModels.start();
    process.env.JELMORE_CODEX_API_KEY = 'test-key-not-secret';
    process.env.JELMORE_GEMINI_BASE_URL = await gemini.start();
    process.env.JELMORE_GEMINI_API_KEY = 'test-key-not-secret';
    server = await startTestServer();
  });

  afterAll(async () => {
    await server?.close();
    await codexModels.stop();
    await gemini.stop();
    for (const name of ['CODEX', 'GEMINI']) {
      delete process.env[`JELMORE_${name}_BASE_URL`];
      delete process.env[`JELMORE_${name}_API_KEY`];
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the command with a screenshot of its own; the screenshot's sha256. */
  async function runWithImage(provider: string, seed: number) {
    const screenshot = join(dir, `screenshot-${provider}.png`);
    writeFileSync(screenshot, pngImage(seed, 24, 16));
    const { code, stderr } = await jelmore(
      ['run', '-p', provider, '--image', screenshot, 'what is wrong on this page?'],
      { JELMORE_SERVER: server.url },
    );
    expect({ code, stderr }).toMatchObject({ code: 0 });
    const sessionId = UUID.exec(stderr)![0];
    const { body } = await request(server.url).get(`/v1/sessions/${sessionId}/events`).expect(200);
    const [user] = (body as { events: SessionEvent[] }).events.filter((e) => e.type === 'user');
    const sent = sha256(pngImage(seed, 24, 16));
    // The log keeps the question and the screenshot by reference, named as the user's file.
    expect(user).toMatchObject({
      content: [
        { type: 'text', text: 'what is wrong on this page?' },
        { type: 'image', mediaType: 'image/png', sha256: sent },
      ],
    });
    return { sent };
  }

  it('claude', async () => {
    const { sent } = await runWithImage('claude', 51);
    expect(server.fake.base64Sent()).toContainEqual({ type: 'image', sha256: sent });
  });

  it('codex', async () => {
    const { sent } = await runWithImage('codex', 52);
    const images = codexModels.requests.flatMap((r) => userImages(r.input)).map(sha256);
    expect(images).toContain(sent);
  });

  it('gemini-acp', async () => {
    const { sent } = await runWithImage('gemini-acp', 53);
    expect(gemini.inlineData()).toContainEqual({ mimeType: 'image/png', sha256: sent });
  });
});
