import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/**
 * Follows the agent's working directory. The Bash tool's shell keeps its cwd between calls, but the stream
 * never reports it, so it is read off the `cd` commands the agent runs, once the call has succeeded (so
 * that directories the command itself created can be checked).
 */
export class DirectoryTracker {
  private readonly pending = new Map<string, string>();

  constructor(private current: string) {}

  get cwd(): string {
    return this.current;
  }

  /** Remembers a Bash call's command until its result arrives. */
  onToolUse(id: string, name: string, input: unknown): void {
    if (name !== 'Bash') return;
    const command = (input as { command?: unknown } | null)?.command;
    if (typeof command === 'string' && /\bcd\b/.test(command)) this.pending.set(id, command);
  }

  /** The change to report once the call finished without error, if any. */
  onToolResult(id: string, isError: boolean): { from: string; to: string } | undefined {
    const command = this.pending.get(id);
    this.pending.delete(id);
    if (command === undefined || isError) return undefined;
    const target = finalCdTarget(command, this.current);
    if (!target || target === this.current) return undefined;
    const change = { from: this.current, to: target };
    this.current = target;
    return change;
  }
}

/**
 * Where a command's top-level `cd`s leave the shell, or undefined when it does not move or when that
 * cannot be known. Conservative: a `cd` that may or may not run (after `||`), that goes somewhere we
 * cannot resolve (`cd -`, `~`, variables), or that runs in a subshell, pipeline or background job is not
 * followed, and makes later relative `cd`s unknowable too. A `cd` into a missing directory fails in the
 * shell as well, so the shell stays where it was.
 */
export function finalCdTarget(command: string, cwd: string): string | undefined {
  let dir = cwd;
  let known = true;
  let moved = false;
  let depth = 0;
  const parts = command.split(/(&&|\|\||[;\n|&])/);
  for (let i = 0; i < parts.length; i += 2) {
    const segment = parts[i];
    const before = parts[i - 1];
    const after = parts[i + 1];
    const inSubshell = depth > 0 || segment.trimStart().startsWith('(');
    depth = Math.max(0, depth + count(segment, '(') - count(segment, ')'));
    const match = /^\s*cd(?:\s+(.+?))?\s*$/.exec(segment);
    if (!match || inSubshell || before === '|' || after === '|' || after === '&') continue;
    const arg = firstWord(match[1]?.trim() ?? '');
    if (!arg || arg === '-' || arg.startsWith('~') || arg.includes('$') || before === '||') {
      known = false;
      continue;
    }
    if (!known && !isAbsolute(arg)) continue;
    const target = resolve(dir, arg);
    if (!isDirectory(target)) continue;
    dir = target;
    known = true;
    moved = true;
  }
  return known && moved ? dir : undefined;
}

function count(text: string, char: string): number {
  return text.split(char).length - 1;
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
