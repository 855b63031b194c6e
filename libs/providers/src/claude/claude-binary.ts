import { execFile } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { installedBin } from '../process/agent-process';

/** JELMORE_CLAUDE_BIN when set, else the CLI installed from npm alongside Jelmore. */
export function defaultClaudeBin(): string | undefined {
  return installedBin('@anthropic-ai/claude-code', 'claude.exe');
}

export interface BinaryCheck {
  ok: boolean;
  version?: string;
  reason?: string;
}

/** Checks that the binary exists, is executable and answers `--version`. Never throws. */
export async function checkClaudeBinary(bin: string | undefined): Promise<BinaryCheck> {
  if (!bin)
    return {
      ok: false,
      reason:
        'Claude Code CLI not found: install @anthropic-ai/claude-code or set JELMORE_CLAUDE_BIN',
    };
  try {
    await access(bin, constants.X_OK);
  } catch {
    return { ok: false, reason: `Claude Code CLI at ${bin} is missing or not executable` };
  }
  return new Promise((resolve) => {
    execFile(bin, ['--version'], { timeout: 15_000 }, (err, stdout) => {
      if (err)
        resolve({
          ok: false,
          reason: `Claude Code CLI at ${bin} did not run: ${err.message.split('\n')[0]}`,
        });
      else resolve({ ok: true, version: stdout.trim() });
    });
  });
}
