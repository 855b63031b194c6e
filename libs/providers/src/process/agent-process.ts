import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

export interface AgentProcessOptions {
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  onLine: (line: string) => void;
  onExit: (code: number | null, signal: NodeJS.Signals | null, stderrTail: string) => void;
}

const STDERR_TAIL_BYTES = 4096;

/**
 * An agent CLI run without a shell, in its own process group (so its tools' children die with it), with
 * exactly the environment it is given.
 */
export class AgentProcess {
  private readonly child: ChildProcess;
  private stderrTail = '';
  private exited = false;
  private readonly exitPromise: Promise<void>;

  constructor(options: AgentProcessOptions) {
    this.child = spawn(options.bin, options.args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout! }).on('line', options.onLine);
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    // A write to a dead agent's stdin must not crash the server; the exit handler reports the death.
    this.child.stdin!.on('error', () => undefined);
    this.exitPromise = new Promise((resolve) => {
      let reported = false;
      const report = (code: number | null, signal: NodeJS.Signals | null) => {
        if (reported) return;
        reported = true;
        this.exited = true;
        options.onExit(code, signal, this.stderrTail);
        resolve();
      };
      this.child.on('exit', report);
      this.child.on('error', (err) => {
        this.stderrTail += err.message;
        report(null, null);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.exited;
  }

  writeLine(value: unknown): void {
    if (!this.exited) this.child.stdin!.write(`${JSON.stringify(value)}\n`);
  }

  closeInput(): void {
    this.child.stdin!.end();
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the agent has exited. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return this.exitPromise;
    killGroup(this.child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(this.child.pid, 'SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
    // The leader is gone; its tools' children may not be.
    killGroup(this.child.pid, 'SIGKILL');
  }

  exited$(): Promise<void> {
    return this.exitPromise;
  }
}

/**
 * Ends the process group of an agent left by a crashed server, if `pid` still runs one of `binaries`
 * (pids get reused, so a bare pid is not enough). Returns whether it did.
 */
export function killLeftover(pid: number, binaries: readonly string[]): boolean {
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false; // Gone already.
  }
  if (!binaries.some((name) => cmdline.includes(name))) return false;
  killGroup(pid, 'SIGKILL');
  return true;
}

/** A binary shipped inside an npm package installed with Jelmore, e.g. ('opencode-ai', 'opencode.exe'). */
export function installedBin(pkg: string, exe: string): string | undefined {
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', exe);
  } catch {
    return undefined;
  }
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Copies only the allowed variables (exact names or `PREFIX_*` patterns) out of `source`. */
export function allowListedEnv(
  source: NodeJS.ProcessEnv,
  allowed: readonly string[],
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(source)) {
    if (value === undefined) continue;
    const ok = allowed.some((pattern) =>
      pattern.endsWith('*') ? key.startsWith(pattern.slice(0, -1)) : key === pattern,
    );
    if (ok) env[key] = value;
  }
  return env;
}
