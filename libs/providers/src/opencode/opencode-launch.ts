import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SessionMounts } from '@jelmore/contracts';
import { AgentProcess, allowListedEnv, killLeftover } from '../process/agent-process';
import { type AgentSandbox, sessionView } from '../process/agent-sandbox';

/** What starts one session's `opencode serve`. */
export interface OpencodeLaunchOptions {
  bin: string;
  /** The CLI's version: its plugin package is marked installed at that version (see prepareOffline). */
  version: string;
  /** The tenant's home (HOME): opencode's database, so history survives restarts and moves between nodes. */
  home: string;
  /** The session's workspace: the server's cwd, and all it may write besides its home. */
  cwd: string;
  /** Folders outside the workspace its tools must see too (SessionConfig.mounts). */
  mounts?: SessionMounts;
  /** The opencode config (OPENCODE_CONFIG_CONTENT). */
  config: Record<string, unknown>;
  sandbox: AgentSandbox;
  /** Outside every agent's view: it names a process Jelmore kills at the next start. */
  pidFile: string;
}

/** A running server: where it listens, the credentials it takes, and its process. */
export interface LaunchedServer {
  url: string;
  authorization: string;
  process: AgentProcess;
}

const START_TIMEOUT_MS = 30_000;
const ENV_ALLOW_LIST = ['PATH', 'LANG', 'LC_*', 'TZ', 'TMPDIR', 'TERM'] as const;
const USERNAME = 'opencode';

/**
 * Starts `opencode serve` for one session, in the agent sandbox (its workspace and its tenant's home, no
 * more), on a loopback port. The port is reachable by every process sharing the network, other tenants'
 * agents included: a random password guards it. `onExit` hears of the process's end, at start or later.
 */
export async function launchOpencodeServer(
  options: OpencodeLaunchOptions,
  onExit: (reason: string) => void,
): Promise<LaunchedServer> {
  endLeftover(options.pidFile);
  prepareOffline(options.home, options.version);
  const password = randomBytes(24).toString('base64url');
  let output = '';
  let listening!: (url: string) => void;
  let failed!: (err: Error) => void;
  const started = new Promise<string>((resolve, reject) => {
    listening = resolve;
    failed = reject;
  });
  const agent = new AgentProcess({
    bin: options.bin,
    args: ['serve', '--port', '0', '--hostname', '127.0.0.1'],
    cwd: options.cwd,
    env: {
      ...allowListedEnv(process.env, ENV_ALLOW_LIST),
      HOME: options.home,
      OPENCODE_DISABLE_MODELS_FETCH: '1',
      OPENCODE_DISABLE_AUTOUPDATE: '1',
      OPENCODE_SERVER_USERNAME: USERNAME,
      OPENCODE_SERVER_PASSWORD: password,
      OPENCODE_CONFIG_CONTENT: JSON.stringify(options.config),
    },
    onLine: (line) => {
      output = (output + line + '\n').slice(-2000);
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match) listening(match[1].replace(/\/$/, ''));
    },
    onExit: (code, signal, stderrTail) => {
      rmSync(options.pidFile, { force: true });
      const last = (stderrTail || output).trim().split('\n').pop() ?? '';
      failed(new Error(`opencode serve exited at start (${signal ?? code}): ${last}`));
      onExit(`opencode server exited (${signal ?? `code ${code}`})`);
    },
    // With the sandbox off, its tools' commands may lead groups of their own.
    stopDescendantGroups: true,
    sandbox: {
      sandbox: options.sandbox,
      view: sessionView({ writable: [options.home] }, options.mounts),
    },
  });
  if (agent.pid) {
    mkdirSync(dirname(options.pidFile), { recursive: true });
    writeFileSync(options.pidFile, String(agent.pid));
  }
  const timer = setTimeout(
    () =>
      failed(new Error(`opencode serve printed no 'listening on' line in ${START_TIMEOUT_MS} ms`)),
    START_TIMEOUT_MS,
  );
  try {
    const url = await started;
    const authorization = `Basic ${Buffer.from(`${USERNAME}:${password}`).toString('base64')}`;
    return { url, authorization, process: agent };
  } catch (err) {
    await agent.stop(0);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Keeps opencode offline: it installs its plugin package into each config directory unless a lock file
 * says it is there, so give it one (there are no plugins to load).
 */
export function prepareOffline(home: string, version: string): void {
  const configDir = join(home, '.config', 'opencode');
  mkdirSync(join(configDir, 'node_modules'), { recursive: true });
  const lock = { packages: { '': { dependencies: { '@opencode-ai/plugin': version } } } };
  writeFileSync(join(configDir, 'package-lock.json'), JSON.stringify(lock));
}

/** A server left by a crashed Jelmore (sandbox off: bwrap's die-with-parent ends it otherwise). */
function endLeftover(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (pid > 0) killLeftover(pid, ['opencode']);
  rmSync(pidFile, { force: true });
}
