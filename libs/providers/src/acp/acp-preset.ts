import { settingDefaults } from '../provider-settings';
import type { AgentSandbox } from '../process/agent-sandbox';
import type { ProvidersModuleOptions } from '../providers.options';
import type { AcpAgentProvider } from './acp-agent-provider';
import { ACP_SETTINGS, AcpAgentOptions } from './acp.options';

/**
 * A built-in ACP agent: a provider folder's `<name>.acp-preset.ts` exports one as `acpPreset`, built
 * from that folder's own settings (its key, endpoint, models). Found like the folders' providers.
 */
export interface AcpPreset {
  /** The provider's name; a config entry may not take it. */
  name: string;
  create(options: ProvidersModuleOptions, sandbox: AgentSandbox): AcpAgentProvider;
}

/** An ACP entry's settings with the table's defaults under `values`, for presets. */
export function acpAgentOptions(
  values: Partial<AcpAgentOptions> & Pick<AcpAgentOptions, 'command'>,
): AcpAgentOptions {
  return Object.assign(
    new AcpAgentOptions(),
    settingDefaults(ACP_SETTINGS),
    { type: 'acp' },
    values,
  );
}
