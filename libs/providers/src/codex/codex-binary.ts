import { dirname, join } from 'node:path';
import { installedBin } from '../process/agent-process';
import { BinaryCheck, checkBinary } from '../process/binary-check';

/** The native build @openai/codex installs as an optional dependency, per platform. */
const NATIVE: Record<string, { pkg: string; triple: string }> = {
  'linux-x64': { pkg: '@openai/codex-linux-x64', triple: 'x86_64-unknown-linux-musl' },
  'linux-arm64': { pkg: '@openai/codex-linux-arm64', triple: 'aarch64-unknown-linux-musl' },
  'darwin-x64': { pkg: '@openai/codex-darwin-x64', triple: 'x86_64-apple-darwin' },
  'darwin-arm64': { pkg: '@openai/codex-darwin-arm64', triple: 'aarch64-apple-darwin' },
};

/**
 * The native codex binary installed from npm with Jelmore, else the package's Node launcher. The native
 * one first: every turn is a process start, and the launcher adds a Node start (and a process) to each.
 */
export function defaultCodexBin(): string | undefined {
  const native = NATIVE[`${process.platform}-${process.arch}`];
  if (native) {
    try {
      const root = dirname(require.resolve(`${native.pkg}/package.json`));
      return join(root, 'vendor', native.triple, 'bin', 'codex');
    } catch {
      // Not installed for this platform: the launcher finds what there is.
    }
  }
  return installedBin('@openai/codex', 'codex.js');
}

/** Checks that the binary exists, is executable and answers `--version`. Never throws. */
export function checkCodexBinary(bin: string | undefined): Promise<BinaryCheck> {
  return checkBinary(bin, {
    label: 'codex',
    notFound: 'codex not found: install @openai/codex or set JELMORE_CODEX_BIN',
  });
}
