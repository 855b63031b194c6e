import type { ModelInfo } from '@jelmore/contracts';
import { MAX_OUTPUT_TOKENS } from './opencode.models';
import { OPENCODE_PROVIDER_ID, OpencodeOptions } from './opencode.options';

/**
 * opencode's config (OPENCODE_CONFIG_CONTENT): our models behind the OpenAI-compatible endpoint,
 * headless and offline, `defaultModel` (else the first) the one its sessions use.
 */
export function opencodeConfig(
  options: Pick<OpencodeOptions, 'baseUrl' | 'apiKey'>,
  modelList: ModelInfo[],
  defaultModel?: string,
): Record<string, unknown> {
  const models = Object.fromEntries(
    modelList.map((m) => [
      m.id,
      {
        name: m.id,
        tool_call: true,
        limit: { context: m.contextWindow, output: MAX_OUTPUT_TOKENS },
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
  };
}
