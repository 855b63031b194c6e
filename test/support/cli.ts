import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from './processes';

/** The `jelmore` bin of package.json, run as a user runs it; it loads the build (`npm run build`). */
const BIN = join(__dirname, '..', '..', 'apps', 'cli', 'bin', 'jelmore.js');
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** One CLI process, its output as it comes, and its exit. */
export class Cli {
  stdout = '';
  stderr = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      // Only what the test gives: no JELMORE_SERVER or JELMORE_API_KEY from the outer environment.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 30_000) {
    // A CLI that exited will print nothing more.
    await eventually(() => pattern.test(this[stream]) || this.child.exitCode !== null, timeoutMs);
    if (pattern.test(this[stream])) return;
    throw new Error(
      `no ${pattern} on ${stream} (exit ${this.child.exitCode}):\n${this.stdout}\n--- stderr ---\n${this.stderr}`,
    );
  }

  sessionId(): string {
    const id = UUID.exec(this.stderr)?.[0];
    if (!id) throw new Error(`no session id in:\n${this.stderr}`);
    return id;
  }
}

export async function jelmore(args: string[], env: Record<string, string> = {}) {
  const cli = new Cli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}
