import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, sep } from 'node:path';
import { ProviderUnavailableError, type SessionMounts } from '@jelmore/contracts';

/** How agent processes are confined (JELMORE_AGENT_SANDBOX, JELMORE_AGENT_NETWORK). */
export interface AgentSandboxSettings {
  /** `bwrap`: every agent process in its own bubblewrap sandbox; `off`: as the server's user, unconfined. */
  mode: 'bwrap' | 'off';
  /** `host`: the agent reaches the network as the server does (its model API); `none`: no network at all. */
  network: 'host' | 'none';
  /** The bubblewrap binary; `bwrap` on the PATH when unset. */
  bwrapBin?: string;
  /**
   * Server paths an agent must never see even where a folder it is shown holds them (the data dir, the
   * config and key files): covered by an empty tmpfs (a folder) or an empty file.
   */
  hidden?: readonly string[];
}

export const DEFAULT_SANDBOX_SETTINGS: AgentSandboxSettings = { mode: 'bwrap', network: 'host' };

/** What one agent process may see besides the system's read-only directories. */
export interface SandboxView {
  /** Read-write: the session's workspace (the process's cwd) and the tenant's agent home. */
  writable: readonly string[];
  /** Read-only: the agent's own installation (e.g. the node_modules it runs from). */
  readOnly?: readonly string[];
  /** The process's cwd (its workspace) read-only too: an agent that may look but not change. */
  readOnlyCwd?: boolean;
}

/**
 * A session's view: `view` and the session's folders outside its cwd (SessionConfig.mounts: for a git
 * worktree, the repository's git directory read-only and the worktree's own folder in it writable).
 * Under a read-only cwd those stay read-only too: they are part of the workspace. bwrap binds every
 * read-only folder before the writable ones, so a writable folder inside a read-only one stays writable.
 */
export function sessionView(view: SandboxView, mounts: SessionMounts | undefined): SandboxView {
  if (!mounts) return view;
  const writable = mounts.writable ?? [];
  return {
    ...view,
    writable: [...view.writable, ...(view.readOnlyCwd ? [] : writable)],
    readOnly: [
      ...(view.readOnly ?? []),
      ...(mounts.readOnly ?? []),
      ...(view.readOnlyCwd ? writable : []),
    ],
  };
}

export interface SandboxStatus {
  mode: AgentSandboxSettings['mode'];
  /** Whether agents with tools may start: a working sandbox, or the sandbox explicitly off. */
  usable: boolean;
  /** Why the sandbox cannot be used, when it cannot. */
  reason?: string;
  network: AgentSandboxSettings['network'];
}

const AGENT_UID = process.getuid?.() || 1000;
const AGENT_GID = process.getgid?.() || 1000;

/** System directories an agent needs to run (read-only); symlinked ones (merged /usr) become symlinks. */
const SYSTEM_DIRS = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib32', '/lib64'];

/**
 * Runs agent processes inside bubblewrap: their own mount, PID, IPC and UTS namespaces, no capabilities,
 * a fresh /proc and /tmp, the system read-only, and only the folders of their `SandboxView` besides. So an
 * agent's tools cannot read the server's environment (/proc/<pid>/environ), its data dir, the database,
 * other sessions' workspaces or other tenants' agent homes, and die with the sandbox.
 */
export class AgentSandbox {
  readonly status: SandboxStatus;
  private readonly bwrap: string;

  constructor(private readonly settings: AgentSandboxSettings = DEFAULT_SANDBOX_SETTINGS) {
    this.bwrap = settings.bwrapBin ?? 'bwrap';
    this.status =
      settings.mode === 'off'
        ? { mode: 'off', usable: true, network: settings.network }
        : { mode: 'bwrap', network: settings.network, ...this.probe() };
  }

  /** Whether processes are wrapped at all. */
  get active(): boolean {
    return this.settings.mode === 'bwrap' && this.status.usable;
  }

  /**
   * Why an agent that runs tools may not start now, or undefined when it may: the sandbox is on but
   * does not work here (bwrap missing, or namespaces refused).
   */
  refusal(): string | undefined {
    if (this.status.usable) return undefined;
    return `the agent sandbox does not work here (${this.status.reason}); install bubblewrap or set JELMORE_AGENT_SANDBOX=off`;
  }

  /** Throws ProviderUnavailableError for `provider`'s new session when agents may not start (refusal). */
  assertUsable(provider: string): void {
    const refusal = this.refusal();
    if (refusal) throw new ProviderUnavailableError(provider, refusal);
  }

  /** The command that runs `bin args` in `cwd` confined to `view` (unchanged when the sandbox is off). */
  wrap(
    bin: string,
    args: readonly string[],
    cwd: string,
    view: SandboxView,
  ): { bin: string; args: string[] } {
    if (!this.active) return { bin, args: [...args] };
    const writable = [...(view.readOnlyCwd ? [] : [cwd]), ...view.writable];
    const readOnly = [
      installRoot(bin),
      ...(view.readOnly ?? []),
      ...(view.readOnlyCwd ? [cwd] : []),
    ];
    return {
      bin: this.bwrap,
      args: [...this.baseArgs(readOnly, writable), '--chdir', cwd, bin, ...args],
    };
  }

  private baseArgs(readOnly: readonly string[], writable: readonly string[]): string[] {
    const args: string[] = [];
    for (const dir of SYSTEM_DIRS) {
      if (!existsSync(dir)) continue;
      const real = realpathSync(dir);
      // Merged /usr: /bin -> usr/bin is a link, kept a link so paths resolve as on the host.
      if (real !== dir) args.push('--symlink', real, dir);
      else args.push('--ro-bind', dir, dir);
    }
    // After /tmp's tmpfs, so that a workspace under /tmp is bound over it, not hidden by it.
    args.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp');
    for (const dir of unique(readOnly)) args.push('--ro-bind', dir, dir);
    for (const dir of unique(writable)) args.push('--bind', dir, dir);
    const shown = [...SYSTEM_DIRS, ...readOnly, ...writable];
    for (const path of this.settings.hidden ?? []) {
      if (!existsSync(path) || !shown.some((dir) => isWithin(path, dir))) continue;
      if (statSync(path).isDirectory()) args.push('--tmpfs', path);
      // Not /dev/null: a device bound from a user namespace cannot be opened (nodev).
      else args.push('--ro-bind', emptyFile(), path);
    }
    args.push(
      // Never root inside, even for a root server: the server's uid, mapped to a plain user. A user
      // namespace also lets an agent nest a sandbox of its own (Codex confines its commands with bwrap).
      '--unshare-user',
      '--uid',
      String(AGENT_UID),
      '--gid',
      String(AGENT_GID),
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--unshare-cgroup-try',
      ...(this.settings.network === 'none' ? ['--unshare-net'] : []),
      '--cap-drop',
      'ALL',
      // The agent dies when the server does, even by SIGKILL: no sandbox outlives it.
      '--die-with-parent',
      '--setenv',
      'TMPDIR',
      '/tmp',
    );
    return args;
  }

  /** Runs `true` in a sandbox like an agent's: proves bwrap exists and may create its namespaces here. */
  private probe(): Pick<SandboxStatus, 'usable' | 'reason'> {
    const dir = join(tmpdir(), 'jelmore-sandbox-probe');
    try {
      mkdirSync(dir, { recursive: true });
      execFileSync(this.bwrap, [...this.baseArgs([], [dir]), '--chdir', dir, 'true'], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 10_000,
      });
      return { usable: true };
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString('utf8').trim();
      const code = (err as { code?: string }).code;
      const reason =
        code === 'ENOENT' ? `${this.bwrap} not found` : stderr || (err as Error).message;
      return { usable: false, reason: `bubblewrap failed: ${reason.split('\n')[0]}` };
    }
  }
}

/**
 * The folder an agent binary runs from, shown read-only: the `node_modules` that holds it (a CLI from npm
 * needs its sibling packages), else the binary's own folder. System paths are there already.
 */
export function installRoot(bin: string): string {
  const real = existsSync(bin) ? realpathSync(bin) : bin;
  const marker = `${sep}node_modules${sep}`;
  const at = real.indexOf(marker);
  return at >= 0 ? real.slice(0, at + marker.length - 1) : dirname(real);
}

/** An empty file to bind over the server's secret files. */
function emptyFile(): string {
  const path = join(tmpdir(), 'jelmore-sandbox-empty');
  if (!existsSync(path) || statSync(path).size !== 0) writeFileSync(path, '', { mode: 0o444 });
  return path;
}

function isWithin(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

function unique(dirs: readonly string[]): string[] {
  return [...new Set(dirs)];
}

const shared = new Map<string, AgentSandbox>();

/** One sandbox (and one probe) per settings in a process: every provider of the server uses the same. */
export function sharedSandbox(
  settings: AgentSandboxSettings = DEFAULT_SANDBOX_SETTINGS,
): AgentSandbox {
  const key = JSON.stringify(settings);
  let sandbox = shared.get(key);
  if (!sandbox) shared.set(key, (sandbox = new AgentSandbox(settings)));
  return sandbox;
}
