import {
  AgentProviderPort,
  ModelInfo,
  ProviderCapabilities,
  ProviderHealth,
  ProviderUnavailableError,
} from '@jelmore/contracts';
import type { AgentSandbox } from './process/agent-sandbox';
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
    documents: false,
    continuation: true,
    interrupt: true,
    steer: false,
    warmStart: false,
    directoryTracking: false,
    fork: false,
    rewind: false,
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

/**
 * The agent's binary `bin`, ready to start a session; else ProviderUnavailableError with the first
 * reason it cannot now: a setting it lacks, its binary, then the sandbox.
 */
export function readyBinary(
  provider: string,
  missingSetting: string | undefined,
  bin: string | undefined,
  binary: CachedBinaryCheck,
  sandbox: AgentSandbox,
): string {
  if (missingSetting) throw new ProviderUnavailableError(provider, missingSetting);
  if (!binary.last.ok || !bin) {
    throw new ProviderUnavailableError(provider, binary.last.reason ?? 'binary not found');
  }
  sandbox.assertUsable(provider);
  return bin;
}

/** The provider's model for a session (its default when the session names none), or the refusal. */
export function requireModel(provider: AgentProviderPort, model: string | undefined): ModelInfo {
  const resolved = provider.resolveModel(model);
  if (!resolved) throw new ProviderUnavailableError(provider.name, `no model ${model}`);
  return resolved;
}
