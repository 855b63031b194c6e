import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';

/** What Jelmore keeps of git's stderr and command line in an error (agents may make them huge). */
const DETAIL_LIMIT = 2048;

/**
 * Prepended to every command. Repositories may have been written by an agent, so nothing in their
 * config may start a program: no fsmonitor daemon or hook runs, and submodules are never recursed into.
 */
const SAFE_CONFIG = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'submodule.recurse=false',
  'advice.addEmbeddedRepo=false',
  'core.quotePath=false',
].flatMap((setting) => ['-c', setting]);

export interface GitRunOptions {
  cwd?: string;
  /** Added to the environment (e.g. GIT_DIR, GIT_INDEX_FILE). */
  env?: Record<string, string>;
  input?: string | Buffer;
  /** Exit codes that are not failures; [0] by default. */
  okCodes?: number[];
}

export interface GitResult {
  stdout: Buffer;
  stderr: string;
  code: number;
}

/** A git command that failed: `details.command` is what ran, `details.stderr` what git said. */
export class GitError extends JelmoreError {
  constructor(args: readonly string[], code: number, stderr: string) {
    const lines = stderr.split('\n').filter((line) => line.trim());
    // Warnings may come first; the line that says why it failed starts with fatal: or error:.
    const firstLine =
      lines.find((line) => /^(fatal|error):/.test(line)) ?? lines[0] ?? `exit code ${code}`;
    super(ErrorCode.GitFailed, `git ${subcommandOf(args)} failed: ${firstLine.trim()}`, {
      command: trim(['git', ...args].join(' ')),
      stderr: trim(stderr.trim()),
    });
  }
}

/** Runs git without a shell, in an environment that no inherited GIT_* variable steers. */
export class GitRunner {
  constructor(private readonly bin = 'git') {}

  run(args: string[], opts: GitRunOptions = {}): Promise<GitResult> {
    const okCodes = opts.okCodes ?? [0];
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, [...SAFE_CONFIG, ...args], {
        cwd: opts.cwd,
        env: { ...baseEnv(), ...opts.env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.on('error', (error: NodeJS.ErrnoException) => reject(this.spawnError(error, opts.cwd)));
      child.on('close', (exit, signal) => {
        const code = exit ?? -1;
        const stderr = Buffer.concat(err).toString('utf8');
        if (!okCodes.includes(code)) {
          reject(new GitError(args, code, signal ? `killed by ${signal}\n${stderr}` : stderr));
        } else resolve({ stdout: Buffer.concat(out), stderr, code });
      });
      // git may exit before reading all of it (EPIPE); its exit code tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(opts.input);
    });
  }

  /** A missing folder to run in fails as a missing binary does (ENOENT): tell them apart. */
  private spawnError(error: NodeJS.ErrnoException, cwd?: string): Error {
    if (error.code !== 'ENOENT') return error;
    if (cwd !== undefined && !existsSync(cwd)) {
      return new JelmoreError(ErrorCode.GitFailed, `git cannot run in ${cwd}: no such folder`);
    }
    return new JelmoreError(
      ErrorCode.GitFailed,
      `git is not installed ('${this.bin}' not found): install git (e.g. apt-get install git)`,
    );
  }

  /** stdout as text, without the trailing newline. */
  async text(args: string[], opts?: GitRunOptions): Promise<string> {
    return (await this.run(args, opts)).stdout.toString('utf8').replace(/\n$/, '');
  }
}

/** process.env without GIT_* (a GIT_DIR of the server's own would redirect every command). */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('GIT_')) env[key] = value;
  }
  return {
    ...env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_OPTIONAL_LOCKS: '0',
    LC_ALL: 'C',
  };
}

/** The subcommand of `args`, past any `-c name=value` and other global options. */
function subcommandOf(args: readonly string[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-c' || args[i] === '-C') i++;
    else if (!args[i].startsWith('-')) return args[i];
  }
  return args[0] ?? '';
}

function trim(text: string): string {
  return text.length > DETAIL_LIMIT ? `${text.slice(0, DETAIL_LIMIT)}…` : text;
}
