import type { SessionConfig } from '@jelmore/contracts';
import type { ConfiguredModel } from '../model-list';
import { MAX_OUTPUT_TOKENS } from './opencode.models';
import { OPENCODE_PROVIDER_ID, OpencodeOptions } from './opencode.options';

/**
 * opencode's config (OPENCODE_CONFIG_CONTENT): our models behind the OpenAI-compatible endpoint,
 * headless and offline, `defaultModel` (else the first) the one its sessions use, and the session's MCP
 * servers, for a server that is the session's alone.
 */
export function opencodeConfig(
  options: Pick<OpencodeOptions, 'baseUrl' | 'apiKey'>,
  modelList: ConfiguredModel[],
  defaultModel?: string,
  mcpServers?: SessionConfig['mcpServers'],
): Record<string, unknown> {
  const models = Object.fromEntries(
    modelList.map((m) => [
      m.id,
      {
        name: m.name ?? m.id,
        tool_call: true,
        limit: { context: m.contextWindow, output: m.maxOutputTokens ?? MAX_OUTPUT_TOKENS },
        // Without it opencode refuses an image or PDF part ("this model does not support image input").
        modalities: { input: ['text', 'image', 'pdf'], output: ['text'] },
        cost: { input: m.inputPricePerMTok, output: m.outputPricePerMTok },
      },
    ]),
  );
  const model = defaultModel ?? modelList[0].id;
  return {
    autoupdate: false,
    share: 'disabled',
    model: `${OPENCODE_PROVIDER_ID}/${model}`,
    small_model: `${OPENCODE_PROVIDER_ID}/${model}`,
    provider: {
      [OPENCODE_PROVIDER_ID]: {
        name: 'Jelmore',
        npm: '@ai-sdk/openai-compatible',
        options: { baseURL: options.baseUrl, apiKey: options.apiKey ?? 'none' },
        models,
      },
    },
    // Headless: nobody answers a question, and a prompt for a path outside the session would block.
    permission: {
      question: 'deny',
      external_directory: 'deny',
      doom_loop: 'deny',
      webfetch: 'deny',
    },
    tools: { question: false, webfetch: false },
    ...(mcpServers?.length ? { mcp: opencodeMcp(mcpServers) } : {}),
  };
}

/**
 * Streamable HTTP servers as opencode's `remote` ones. No OAuth: the headers carry the credentials, and
 * a refused token must fail the server, not start a login nobody can finish. No timeout: opencode
 * restarts a tool call's 60 s on each progress notification, which Jelmore's waits send every second.
 */
function opencodeMcp(servers: NonNullable<SessionConfig['mcpServers']>): Record<string, unknown> {
  return Object.fromEntries(
    servers.map((server) => [
      server.name,
      {
        type: 'remote',
        url: server.url,
        headers: { ...server.headers },
        enabled: true,
        oauth: false,
      },
    ]),
  );
}
