import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { ModelInfo, SessionResource } from '@jelmore/contracts';
import { FakeOpenAIServer } from './fixtures/fake-openai';
import { startTestServer, TestServer } from './support/app';
import { requestsTo } from './support/opencode';
import { connect, request as wsRequest, startSession, terminateSession } from './support/ws-client';

/** An Ollama-style id that no built-in model list has. */
const LOCAL = 'qwen2.5-coder:7b';

/*
 * A local model server (Ollama, vLLM, llama.cpp) stood in for by the fake OpenAI-compatible API: its
 * model is named only in the JSON config file, and reaches the endpoint through the real opencode, over
 * its HTTP API (`opencode`) and over ACP (`opencode-acp`).
 */
describe('local models from the config file (real opencode, fake OpenAI-compatible API)', () => {
  const models = new FakeOpenAIServer();
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-local-models-'));
  let server: TestServer;
  let socket: Socket;

  beforeAll(async () => {
    const config = join(dir, 'jelmore.json');
    writeFileSync(
      config,
      JSON.stringify({
        providers: {
          opencode: {
            models: [{ id: LOCAL, name: 'Qwen 2.5 Coder 7B', context_window: 32768 }],
          },
        },
      }),
    );
    server = await startTestServer({
      env: { JELMORE_CONFIG: config, JELMORE_OPENCODE_BASE_URL: await models.start() },
    });
    socket = await connect(server.url);
  });

  afterAll(async () => {
    socket?.disconnect();
    await server?.close();
    await models.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the file’s model, free, instead of the built-in ones on both opencode routes', async () => {
    const { body } = await request(server.url).get('/v1/providers').expect(200);
    const listed = (name: string): ModelInfo[] =>
      (body.providers as Array<{ name: string; models: ModelInfo[] }>).find((p) => p.name === name)!
        .models;
    for (const provider of ['opencode', 'opencode-acp']) {
      expect(listed(provider)).toEqual([
        {
          id: LOCAL,
          aliases: [],
          provider,
          contextWindow: 32768,
          inputPricePerMTok: 0,
          outputPricePerMTok: 0,
        },
      ]);
    }
  });

  it('sends a session naming the local model to the endpoint with that id, at no cost', async () => {
    const { session, events } = await startSession(socket, {
      model: LOCAL,
      query: 'hello from a local model',
    });
    expect(session).toMatchObject({ provider: 'opencode', model: LOCAL });
    await events.waitForResults(1, 60_000);
    expect(events.ofType('result')[0].text).toBe('Echo: hello from a local model');
    const sent = requestsTo(models, 'hello from a local model');
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent.map((r) => r.model))).toEqual(new Set([LOCAL]));
    expect(events.ofType('usage')[0]).toMatchObject({ costUsd: 0 });
    expect(events.ofType('usage')[0].inputTokens).toBeGreaterThan(0);
    const resource = (await request(server.url).get(`/v1/sessions/${session.id}`))
      .body as SessionResource;
    expect(resource.usage.costUsd).toBe(0);
    await terminateSession(server.url, session);
  });

  it('is the default model: a session naming none on opencode uses it', async () => {
    const { session, events } = await startSession(socket, {
      provider: 'opencode',
      query: 'which model by default?',
    });
    expect(session.model).toBe(LOCAL);
    await events.waitForResults(1, 60_000);
    expect(requestsTo(models, 'which model by default?').map((r) => r.model)).toContain(LOCAL);
    await terminateSession(server.url, session);
  });

  it('reaches the endpoint over ACP too (opencode-acp), at no cost', async () => {
    const { session, events } = await startSession(socket, {
      provider: 'opencode-acp',
      model: LOCAL,
      query: 'hello over acp',
    });
    expect(session).toMatchObject({ provider: 'opencode-acp', model: LOCAL });
    await events.waitForResults(1, 60_000);
    const sent = requestsTo(models, 'hello over acp');
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent.map((r) => r.model))).toEqual(new Set([LOCAL]));
    expect(events.ofType('result')[0].usage.costUsd).toBe(0);
    await terminateSession(server.url, session);
  });

  it('refuses a built-in model the file’s list replaced', async () => {
    const ack = await wsRequest(socket, 'session:create', { model: 'deepseek-v3', query: 'hi' });
    expect(ack).toMatchObject({ ok: false, error: { code: 'MODEL_NOT_SUPPORTED' } });
  });
});
