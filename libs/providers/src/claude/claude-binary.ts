import { installedBin } from '../process/agent-process';
import { BinaryCheck, checkBinary } from '../process/binary-check';

/** JELMORE_CLAUDE_BIN when set, else the CLI installed from npm alongside Jelmore. */
export function defaultClaudeBin(): string | undefined {
  return installedBin('@anthropic-ai/claude-code', 'claude.exe');
}

/** Checks that the binary exists, is executable and answers `--version`. Never throws. */
export function checkClaudeBinary(bin: string | undefined): Promise<BinaryCheck> {
  return checkBinary(bin, {
    label: 'Claude Code CLI',
    notFound:
      'Claude Code CLI not found: install @anthropic-ai/claude-code or set JELMORE_CLAUDE_BIN',
  });
}
