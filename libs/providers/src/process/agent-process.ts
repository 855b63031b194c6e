import { ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AgentSandbox, SandboxView } from './agent-sandbox';

export interface AgentProcessOptions {
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  onLine: (line: string) => void;
  onExit: (code: number | null, signal: NodeJS.Signals | null, stderrTail: string) => void;
  /**
   * Report the exit only after every stdout line was delivered (or `OUTPUT_DRAIN_MS` later, should a
   * leftover child hold the pipe): for a one-shot run whose last line matters. Node may emit 'exit' first.
   */
  drainOutput?: boolean;
  /**
   * stop() also ends the process groups its descendants lead: for a CLI that starts each tool command in
   * a session of its own (setsid), which a signal to the agent's group does not reach.
   */
  stopDescendantGroups?: boolean;
  /** Runs the agent confined to `view` (plus its cwd) when the sandbox is on. */
  sandbox?: { sandbox: AgentSandbox; view: SandboxView };
}

const STDERR_TAIL_BYTES = 4096;
const OUTPUT_DRAIN_MS = 2000;

/**
 * An agent CLI run without a shell, in its own process group (so its tools' children die with it), with
 * exactly the environment it is given.
 */
export class AgentProcess {
  private readonly child: ChildProcess;
  private stderrTail = '';
  private exited = false;
  private readonly exitPromise: Promise<void>;
  private readonly stopDescendantGroups: boolean;
  private readonly sandboxed: boolean;

  constructor(options: AgentProcessOptions) {
    this.stopDescendantGroups = options.stopDescendantGroups ?? false;
    this.sandboxed = options.sandbox?.sandbox.active ?? false;
    const { bin, args } = options.sandbox
      ? options.sandbox.sandbox.wrap(options.bin, options.args, options.cwd, options.sandbox.view)
      : options;
    this.child = spawn(bin, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      shell: false,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines = createInterface({ input: this.child.stdout! }).on('line', options.onLine);
    const drained =
      options.drainOutput &&
      new Promise<void>((resolve) => {
        lines.once('close', resolve);
        this.child.once('exit', () => setTimeout(resolve, OUTPUT_DRAIN_MS).unref());
      });
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
      this.child.on('exit', (code, signal) => {
        if (drained) void drained.then(() => report(code, signal));
        else report(code, signal);
      });
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

  /** Raw text on stdin, e.g. a one-shot CLI's prompt (an argument would show in every process list). */
  writeText(text: string): void {
    if (!this.exited) this.child.stdin!.write(text);
  }

  closeInput(): void {
    this.child.stdin!.end();
  }

  /** SIGTERM to the whole group, SIGKILL after `graceMs`; resolves once the agent has exited. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.exited) return this.exitPromise;
    // Listed first: once the agent is dead, init adopts its descendants and they cannot be found.
    const groups = this.stopDescendantGroups ? descendantGroups(this.child.pid) : [];
    const signalAll = (signal: NodeJS.Signals) => {
      this.signal(signal);
      groups.forEach((g) => killGroup(g, signal));
    };
    signalAll('SIGTERM');
    const timer = setTimeout(() => signalAll('SIGKILL'), graceMs);
    await this.exitPromise;
    clearTimeout(timer);
    // The leader is gone; its tools' children may not be.
    signalAll('SIGKILL');
  }

  /**
   * Signals the agent's process group. In a sandbox a catchable signal skips bubblewrap's own two
   * processes (they would die of it and take the agent down before it could act on it, e.g. record an
   * interrupted turn); SIGKILL ends the whole sandbox.
   */
  signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (!this.sandboxed || signal === 'SIGKILL' || !pid) return killGroup(pid, signal);
    const sandbox = new Set([pid, ...childrenOf(pid)]);
    for (const member of groupMembers(pid)) {
      if (sandbox.has(member)) continue;
      try {
        process.kill(member, signal);
      } catch {
        // Ended meanwhile.
      }
    }
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

interface ProcEntry {
  pid: number;
  ppid: number;
  pgrp: number;
}

/** Every process's pid, parent and group, read from /proc (Linux). */
function processTable(): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // Ended while we looked.
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [, ppid, pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.push({ pid: Number(entry), ppid: Number(ppid), pgrp: Number(pgrp) });
  }
  return table;
}

function childrenOf(pid: number): number[] {
  return processTable()
    .filter((p) => p.ppid === pid)
    .map((p) => p.pid);
}

function groupMembers(pgrp: number): number[] {
  return processTable()
    .filter((p) => p.pgrp === pgrp)
    .map((p) => p.pid);
}

/** The process groups led by descendants of `pid` other than its own, read from /proc (Linux). */
export function descendantGroups(pid: number | undefined): number[] {
  if (!pid) return [];
  const children = new Map<number, number[]>();
  const groupOf = new Map<number, number>();
  for (const { pid: self, ppid, pgrp } of processTable()) {
    groupOf.set(self, pgrp);
    const siblings = children.get(ppid) ?? [];
    siblings.push(self);
    children.set(ppid, siblings);
  }
  const groups = new Set<number>();
  const queue = [...(children.get(pid) ?? [])];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const group = groupOf.get(next);
    if (group !== undefined && group > 1 && group !== pid) groups.add(group);
    queue.push(...(children.get(next) ?? []));
  }
  return [...groups];
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** What every agent may see of the server's environment: basics and proxies, no server secrets. */
export const AGENT_BASE_ENV = [
  'PATH',
  'LANG',
  'LC_*',
  'TZ',
  'TMPDIR',
  'TERM',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
] as const;

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
