import { join } from 'node:path';
import { AcpAgentProvider } from '../acp/acp-agent-provider';
import { acpAgentOptions, AcpPreset } from '../acp/acp-preset';
import { loadProviderSettings } from '../provider-settings';
import { defaultGeminiBin, geminiCliEnv, writeGeminiSettings } from './gemini-cli';
import { GEMINI_MODELS } from './gemini.models';
import { DEFAULT_GEMINI_OPTIONS, GEMINI_SETTINGS, GeminiOptions } from './gemini.options';

const NAME = 'gemini-acp';

/**
 * The Gemini CLI over ACP (`gemini --acp`), with the gemini provider's settings. Never chosen for a
 * session that names no provider or model: its cancel drops the interrupted turn from the context, and its session/load fails for
 * a chat started in the same minute (Gemini CLI 0.61), so the bespoke `gemini` stays the default.
 */
export const acpPreset: AcpPreset = {
  name: NAME,
  create(providers, sandbox) {
    const options = loadProviderSettings(
      'gemini',
      GeminiOptions,
      GEMINI_SETTINGS,
      DEFAULT_GEMINI_OPTIONS,
      providers.env ?? process.env,
    );
    const agent = {
      name: NAME,
      options: acpAgentOptions({
        command: options.bin ?? defaultGeminiBin() ?? 'gemini',
        args: ['--acp'],
        defaultModel: options.defaultModel,
        maxConcurrentSessions: options.maxConcurrentSessions,
        enabled: options.enabled,
        autoSelect: false,
        // As inlineData parts of the model request (test/multimodal-acp.e2e-spec.ts).
        input: ['image', 'pdf'],
      }),
      models: GEMINI_MODELS.map((model) => ({ ...model, provider: NAME })),
    };
    return new AcpAgentProvider(agent, {
      agentRoot: join(providers.dataDir, 'agents', NAME),
      sandbox,
      // Its session/cancel ends the turn but drops it from the conversation.
      capabilities: { interrupt: false },
      // Gemini CLI 0.61 drops image blocks from a prompt that also holds a resource (a PDF, a text file).
      promptStyle: { imagesAsResources: true },
      refusal: () => (options.apiKey ? undefined : 'no API key: set JELMORE_GEMINI_API_KEY'),
      launch: ({ model, home }) => {
        writeGeminiSettings(home);
        // Unset, the CLI routes through an "auto" model first.
        return { args: ['--model', model.id], env: geminiCliEnv(options) };
      },
    });
  },
};
