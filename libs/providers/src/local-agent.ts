import type { ModelInfo, ProviderCapabilities, ProviderHealth } from '@jelmore/contracts';
import type { CachedBinaryCheck } from './process/binary-check';

/**
 * What an agent CLI run as a local process can do unless it says otherwise: stream, run tools that
 * read, write and execute in its session's directory, continue its conversation in a new process and
 * end a turn on interrupt keeping it. `models` give the context limit; `differences` what the agent
 * does otherwise (as its tests measure it).
 */
export function localAgentCapabilities(
  maxConcurrentSessions: number,
  models: readonly ModelInfo[],
  differences: Partial<ProviderCapabilities> = {},
): ProviderCapabilities {
  return {
    streaming: true,
    tools: true,
    fileOperations: true,
    codeExecution: true,
    multimodal: false,
    continuation: true,
    interrupt: true,
    steer: false,
    warmStart: false,
    directoryTracking: false,
    maxConcurrentSessions,
    maxContextTokens: Math.max(0, ...models.map((m) => m.contextWindow)),
    ...differences,
  };
}

/**
 * A local agent's health, first reason first: a setting it lacks, its binary (missing, or not
 * answering `--version`), then `others` (the sandbox's, say).
 */
export async function localAgentHealth(
  missingSetting: string | undefined,
  binary: CachedBinaryCheck,
  ...others: Array<string | undefined>
): Promise<ProviderHealth> {
  if (missingSetting) {
    return { healthy: false, reason: missingSetting, checkedAt: new Date().toISOString() };
  }
  const checked = await binary.check();
  const reason = checked.reason ?? others.find((other) => other !== undefined);
  return {
    healthy: checked.ok && !reason,
    reason,
    version: checked.version,
    checkedAt: binary.checkedAt,
  };
}
