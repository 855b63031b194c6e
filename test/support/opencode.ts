import type { ChatRequest, FakeOpenAIServer } from '../fixtures/fake-openai';
import { contentText } from '../fixtures/fake-openai';
import { startTestServer, TestServer } from './app';

/**
 * The app with the bespoke `opencode` provider pointed at `models`, which this starts: each session
 * runs its own real `opencode serve` against the fake OpenAI-compatible API.
 */
export async function startOpencodeTestServer(models: FakeOpenAIServer): Promise<TestServer> {
  const baseUrl = await models.start();
  return startTestServer({
    env: { JELMORE_OPENCODE_BASE_URL: baseUrl, JELMORE_OPENCODE_API_KEY: 'test-key-not-secret' },
  });
}

/** The model requests of a conversation whose last user message holds `text`. */
export function requestsTo(models: FakeOpenAIServer, text: string): ChatRequest[] {
  return models.agentRequests().filter((r) => {
    const last = [...r.messages].reverse().find((m) => m.role === 'user');
    return contentText(last?.content).includes(text);
  });
}
