import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AcpAgentProvider } from '../acp/acp-agent-provider';
import { acpAgentOptions, AcpPreset } from '../acp/acp-preset';
import { listedModel } from '../model-list';
import { opencodeConfig } from './opencode-config';
import { prepareOffline } from './opencode-launch';
import { opencodeModels } from './opencode.models';
import { defaultOpencodeBin } from './opencode-server';

const NAME = 'opencode-acp';

/**
 * OpenCode over ACP (`opencode acp`), with the opencode provider's settings (JELMORE_OPENCODE_*): one
 * sandboxed agent per session on stdio, no HTTP server. Never chosen for a session that names no
 * provider or model: beside the bespoke `opencode`, its fallback.
 */
export const acpPreset: AcpPreset = {
  name: NAME,
  create(providers, sandbox) {
    const options = providers.opencode;
    const models = opencodeModels(options.models).map((model) => ({ ...model, provider: NAME }));
    const listed = models.map(listedModel);
    const agent = {
      name: NAME,
      options: acpAgentOptions({
        command: options.bin ?? defaultOpencodeBin() ?? 'opencode',
        args: ['acp'],
        defaultModel: options.defaultModel,
        maxConcurrentSessions: options.maxConcurrentSessions,
        enabled: options.enabled,
        autoSelect: false,
        // Image and file parts, as its config allows (test/multimodal-acp.e2e-spec.ts).
        input: ['image', 'pdf'],
      }),
      models: listed,
    };
    return new AcpAgentProvider(agent, {
      agentRoot: join(providers.dataDir, 'agents', NAME),
      sandbox,
      refusal: () =>
        options.baseUrl ? undefined : 'no model endpoint: set JELMORE_OPENCODE_BASE_URL',
      launch: ({ model, policy, home }) => {
        prepareOffline(home, installedVersion());
        const config = opencodeConfig(options, models, model.id);
        // opencode runs commands and edits unasked by default: under ask and deny-writes it must ask
        // us, and the session's policy answers.
        if (policy !== 'bypass') {
          config.permission = {
            ...(config.permission as object),
            bash: 'ask',
            edit: 'ask',
          };
        }
        return {
          env: {
            OPENCODE_DISABLE_MODELS_FETCH: '1',
            OPENCODE_DISABLE_AUTOUPDATE: '1',
            OPENCODE_CONFIG_CONTENT: JSON.stringify(config),
          },
        };
      },
    });
  },
};

/** The version of the opencode-ai package installed with Jelmore (its plugin is marked at it). */
function installedVersion(): string {
  try {
    const manifest = require.resolve('opencode-ai/package.json');
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    return 'latest';
  }
}
