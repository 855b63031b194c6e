import { Logger } from '@nestjs/common';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createParser } from 'eventsource-parser';
import { allowListedEnv, installedBin, killGroup, killLeftover } from '../process/agent-process';
import type { OpencodeEvent } from './opencode-event.normalizer';

export interface OpencodeListener {
  onEvent(event: OpencodeEvent): void;
  /** The server (or the event stream) went away: the session's agent is gone. */
  onServerLost(reason: string): void;
}

export interface OpencodeServerOptions {
  /** An external `opencode serve`; when set nothing is spawned. */
  endpoint?: string;
  bin?: string;
  /** HOME of the managed server: its sessions and config live here, so they survive restarts. */
  home: string;
  /** The opencode config (OPENCODE_CONFIG_CONTENT). */
  config: Record<string, unknown>;
}

const START_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;
const ENV_ALLOW_LIST = ['PATH', 'LANG', 'LC_*', 'TZ', 'TMPDIR', 'TERM'] as const;

/** JELMORE_OPENCODE_BIN when set, else the CLI installed from npm alongside Jelmore. */
export function defaultOpencodeBin(): string | undefined {
  return installedBin('opencode-ai', 'opencode.exe');
}

/**
 * One `opencode serve` per Jelmore node, shared by its opencode sessions: started on first use, restarted
 * with backoff when it dies, and watched through one `/global/event` stream whose events are routed to
 * sessions by their opencode session id.
 */
export class OpencodeServer {
  private readonly logger = new Logger(OpencodeServer.name);
  private readonly listeners = new Map<string, OpencodeListener>();
  private readonly directories = new Map<string, number>();
  private child?: ChildProcess;
  private url?: string;
  private starting?: Promise<string>;
  private events?: AbortController;
  private stopping = false;
  private restartDelayMs = 1000;
  private restartTimer?: NodeJS.Timeout;
  private lastError?: string;

  constructor(private readonly options: OpencodeServerOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The server's base URL once it answers and its event stream is open. */
  ready(): Promise<string> {
    if (this.url) return Promise.resolve(this.url);
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  listen(sessionId: string, listener: OpencodeListener): () => void {
    this.listeners.set(sessionId, listener);
    return () => {
      if (this.listeners.get(sessionId) === listener) this.listeners.delete(sessionId);
    };
  }

  /**
   * Marks a directory in use by a session. opencode keeps an instance per directory (plugins, tools: about
   * 50 MiB); the returned release disposes it once no session uses the directory any more.
   */
  useDirectory(directory: string): () => void {
    this.directories.set(directory, (this.directories.get(directory) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.directories.get(directory) ?? 1) - 1;
      if (left > 0) {
        this.directories.set(directory, left);
        return;
      }
      this.directories.delete(directory);
      if (!this.url) return;
      this.request('POST', `/instance/dispose?directory=${encodeURIComponent(directory)}`).catch(
        (err: unknown) =>
          this.logger.warn(`opencode instance for ${directory} not disposed: ${String(err)}`),
      );
    };
  }

  /** Up when the server answers now; the reason otherwise. A start under way is waited for. */
  async health(): Promise<{ healthy: boolean; reason?: string }> {
    await this.starting?.catch(() => undefined);
    if (!this.url) {
      // A start that failed (at boot, say) is tried again at each check, so the provider comes back.
      if (!this.starting && !this.restartTimer && !this.stopping && this.lastError) {
        this.ready().catch(() => undefined);
      }
      if (this.starting || this.restartTimer)
        return { healthy: false, reason: this.lastError ?? 'starting' };
      return { healthy: false, reason: this.lastError ?? 'not started' };
    }
    try {
      await this.request('GET', '/session/status');
      return { healthy: true };
    } catch (err) {
      return { healthy: false, reason: `opencode server does not answer: ${String(err)}` };
    }
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const base = this.url ?? (await this.ready());
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? undefined : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    if (!res.ok)
      throw new Error(
        `opencode ${method} ${path.split('?')[0]} answered ${res.status}: ${text.slice(0, 200)}`,
      );
    return (text ? JSON.parse(text) : undefined) as T;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    // A start under way would leave its server behind: let it finish (it checks `stopping`), then end it.
    await this.starting?.catch(() => undefined);
    this.events?.abort();
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  private async start(): Promise<string> {
    this.stopping = false;
    try {
      const url = this.options.endpoint?.replace(/\/$/, '') ?? (await this.spawn());
      await this.openEvents(url);
      this.url = url;
      this.lastError = undefined;
      this.restartDelayMs = 1000;
      return url;
    } catch (err) {
      this.lastError = withCause(err);
      throw err;
    }
  }

  private async spawn(): Promise<string> {
    const bin = this.options.bin ?? defaultOpencodeBin();
    if (!bin || !existsSync(bin))
      throw new Error(`opencode binary not found (${bin ?? 'opencode-ai not installed'})`);
    const home = this.options.home;
    this.endLeftover();
    await this.prepareOffline(bin);
    if (this.stopping) throw new Error('opencode server is stopping');
    const child = spawn(bin, ['serve', '--port', '0', '--hostname', '127.0.0.1'], {
      cwd: home,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...allowListedEnv(process.env, ENV_ALLOW_LIST),
        HOME: home,
        OPENCODE_DISABLE_MODELS_FETCH: '1',
        OPENCODE_DISABLE_AUTOUPDATE: '1',
        OPENCODE_CONFIG_CONTENT: JSON.stringify(this.options.config),
      },
    });
    this.child = child;
    writeFileSync(join(home, 'server.pid'), String(child.pid));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));
    return new Promise<string>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => {
        killGroup(child.pid, 'SIGKILL');
        reject(
          new Error(`opencode serve printed no 'listening on' line in ${START_TIMEOUT_MS} ms`),
        );
      }, START_TIMEOUT_MS);
      const onLine = (line: string) => {
        output = (output + line + '\n').slice(-2000);
        const match = /listening on (http:\/\/\S+)/.exec(line);
        if (!match) return;
        clearTimeout(timer);
        resolve(match[1].replace(/\/$/, ''));
      };
      createInterface({ input: child.stdout }).on('line', onLine);
      createInterface({ input: child.stderr }).on('line', onLine);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(
            `opencode serve exited at start (${signal ?? code}): ${output.trim().split('\n').pop() ?? ''}`,
          ),
        );
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /**
   * Keeps opencode offline: it installs its plugin package into each config directory unless a lock file
   * says it is there, so give it one (there are no plugins to load).
   */
  private async prepareOffline(bin: string): Promise<void> {
    const configDir = join(this.options.home, '.config', 'opencode');
    mkdirSync(join(configDir, 'node_modules'), { recursive: true });
    const version = await new Promise<string>((resolve, reject) =>
      execFile(
        bin,
        ['--version'],
        { timeout: 15_000, env: { ...process.env, HOME: this.options.home } },
        (err, stdout) =>
          err
            ? reject(new Error(`opencode --version failed: ${err.message.split('\n')[0]}`))
            : resolve(stdout.trim()),
      ),
    );
    const lock = { packages: { '': { dependencies: { '@opencode-ai/plugin': version } } } };
    writeFileSync(join(configDir, 'package-lock.json'), JSON.stringify(lock));
  }

  /** A server left by a crashed Jelmore still holds its port and memory: end it. */
  private endLeftover(): void {
    const pidFile = join(this.options.home, 'server.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0) killLeftover(pid, ['opencode']);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    this.child = undefined;
    this.url = undefined;
    this.directories.clear();
    this.events?.abort();
    const reason = `opencode server exited (${signal ?? `code ${code}`})`;
    this.lostAll(reason);
    if (this.stopping) return;
    this.lastError = reason;
    this.logger.warn(`${reason}; restarting in ${this.restartDelayMs} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.ready().catch((err: unknown) =>
        this.logger.error(`opencode restart failed: ${String(err)}`),
      );
    }, this.restartDelayMs);
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, 30_000);
  }

  private lostAll(reason: string): void {
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    for (const listener of listeners) listener.onServerLost(reason);
  }

  /** Opens `/global/event`; resolves once the server confirms the connection. */
  private async openEvents(url: string): Promise<void> {
    const abort = new AbortController();
    this.events = abort;
    // Bounds the connection only: the fetch signal also governs the body, which must stay open.
    const connectTimer = setTimeout(() => abort.abort(), START_TIMEOUT_MS);
    let res: Response;
    try {
      res = await fetch(`${url}/global/event`, {
        headers: { accept: 'text/event-stream' },
        signal: abort.signal,
      });
    } finally {
      clearTimeout(connectTimer);
    }
    if (!res.ok || !res.body) throw new Error(`opencode /global/event answered ${res.status}`);
    const parser = createParser({
      onEvent: (message) => {
        let envelope: { payload?: OpencodeEvent };
        try {
          envelope = JSON.parse(message.data) as { payload?: OpencodeEvent };
        } catch {
          return;
        }
        const event = envelope.payload;
        const sessionId = event?.properties?.sessionID;
        if (event && sessionId) this.listeners.get(sessionId)?.onEvent(event);
      },
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.feed(value);
        }
      } catch {
        // Aborted, or the connection broke.
      }
      // A dying server closes the stream a moment before its exit is seen: let the exit tell the story.
      await new Promise((resolve) => setTimeout(resolve, 250));
      if (abort.signal.aborted || this.events !== abort) return;
      // The stream ended on its own: events were lost, so the sessions cannot go on. A managed server is
      // restarted through its exit; an external one is reconnected on next use.
      this.url = undefined;
      this.lastError = 'opencode event stream closed';
      this.lostAll(this.lastError);
      killGroup(this.child?.pid, 'SIGKILL');
    })();
  }
}

/** fetch() says only "fetch failed"; the reason (refused, reset, timeout) is in its cause. */
function withCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause ? `${err.message}: ${cause}` : err.message;
}
