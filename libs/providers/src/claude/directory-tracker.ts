import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/**
 * Follows the agent's working directory. The Bash tool's shell keeps its cwd between calls, but the stream
 * never reports it, so it is read off the `cd` commands the agent runs and confirmed once the call succeeds.
 */
export class DirectoryTracker {
  private readonly pending = new Map<string, string>();

  constructor(private current: string) {}

  get cwd(): string {
    return this.current;
  }

  /** Notes where a Bash call will leave the shell, if it changes directory. */
  onToolUse(id: string, name: string, input: unknown): void {
    if (name !== 'Bash') return;
    const command = (input as { command?: unknown } | null)?.command;
    if (typeof command !== 'string') return;
    const target = finalCdTarget(command, this.current);
    if (target) this.pending.set(id, target);
  }

  /** The change to report once the call finished without error, if any. */
  onToolResult(id: string, isError: boolean): { from: string; to: string } | undefined {
    const target = this.pending.get(id);
    this.pending.delete(id);
    if (!target || isError || target === this.current || !isDirectory(target)) return undefined;
    const change = { from: this.current, to: target };
    this.current = target;
    return change;
  }
}

/** The directory a command's last top-level `cd` leads to (subshells and `cd -` are not followed). */
export function finalCdTarget(command: string, cwd: string): string | undefined {
  let dir: string | undefined;
  for (const segment of command.split(/&&|\|\||;|\n/)) {
    const match = /^\s*cd(?:\s+(.+?))?\s*$/.exec(segment);
    if (!match) continue;
    const arg = firstWord(match[1]?.trim() ?? '');
    if (!arg || arg === '-' || arg.startsWith('~') || arg.includes('$')) continue;
    const base = dir ?? cwd;
    dir = isAbsolute(arg) ? resolve(arg) : resolve(base, arg);
  }
  return dir;
}

/** The first shell word, unquoted: `"my dir" 2>/dev/null` gives `my dir`. */
function firstWord(value: string): string {
  const quoted = /^(['"])(.*?)\1/.exec(value);
  return quoted ? quoted[2] : value.split(/\s+/)[0];
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
