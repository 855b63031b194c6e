import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LagStats, ProbeRequest } from './probe';

/** Where this compiled runner lives: <cache>/bench/support. */
const CACHE = join(__dirname, '..', '..');
const REPO = join(CACHE, '..', '..', '..');
const PROBE = join(__dirname, 'probe.js');
const BARE_MAIN = join(__dirname, '..', 'baseline', 'bare-server.js');

export type Side = 'baseline' | 'jelmore';

export interface ServerOptions {
  /** Pin the server (and the agents it spawns) to these CPUs with taskset, e.g. "0". */
  cpus?: string;
  /** Extra environment for the server. */
  env?: Record<string, string>;
  /** Extra node flags for the server, e.g. --max-semi-space-size=32. */
  nodeArgs?: string[];
}

/**
 * A copy of the built server (dist/) for this run, so a rebuild by someone else meanwhile (nest build
 * empties dist/ first) cannot pull files from under it. Removed by `dispose()`.
 */
export class ServerBuild {
  readonly main: string;
  private readonly dir: string;

  /** `dist`: another build to measure (e.g. with a proposed change applied); the repository's by default. */
  constructor(dist = join(REPO, 'dist')) {
    const built = join(dist, 'apps', 'server', 'src', 'main.js');
    if (!existsSync(built)) {
      throw new Error(`${built} is missing: build the server first (npx nest build server)`);
    }
    this.dir = join(CACHE, `server-${process.pid}`);
    rmSync(this.dir, { recursive: true, force: true });
    cpSync(dist, this.dir, { recursive: true });
    this.main = join(this.dir, 'apps', 'server', 'src', 'main.js');
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A server under test, run as its own process so its RSS, CPU and event loop can be measured alone. */
export class ServerUnderTest {
  private child?: ChildProcess;
  private nextId = 0;
  private readonly replies = new Map<
    number,
    (reply: { ok: boolean; result?: unknown; error?: string }) => void
  >();
  readonly dir: string;
  port = 0;

  private constructor(
    readonly side: Side,
    private readonly main: string,
    private readonly options: ServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `jelmore-bench-${side}-`));
  }

  static jelmore(build: ServerBuild, options: ServerOptions = {}): ServerUnderTest {
    return new ServerUnderTest('jelmore', build.main, options);
  }

  static baseline(options: ServerOptions = {}): ServerUnderTest {
    return new ServerUnderTest('baseline', BARE_MAIN, options);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child!.pid!;
  }

  /** The server's log so far (stdout and stderr). */
  get log(): string {
    return readFileSync(join(this.dir, 'server.log'), 'utf8');
  }

  async start(): Promise<void> {
    this.port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: this.dir,
      PORT: String(this.port),
      JELMORE_PORT: String(this.port),
      JELMORE_HOST: '127.0.0.1',
      JELMORE_DATA_DIR: join(this.dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(this.dir, 'workspace'),
      JELMORE_SCRIPTED_ENABLED: 'true',
      JELMORE_SCRIPTED_MAX_CONCURRENT_SESSIONS: '100000',
      // Load, not abuse: the per-key limit (600/min by default) would turn a benchmark into 429s.
      JELMORE_RATE_LIMIT_PER_MINUTE: '1000000000',
      // No provider but the scripted one does background work (health checks spawning CLIs).
      JELMORE_CLAUDE_ENABLED: 'false',
      JELMORE_OPENCODE_ENABLED: 'false',
      ...this.options.env,
    };
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const log = openSync(join(this.dir, 'server.log'), 'a');
    const args = [...(this.options.nodeArgs ?? []), '-r', PROBE, this.main];
    const [bin, argv] = this.options.cpus
      ? ['taskset', ['-c', this.options.cpus, process.execPath, ...args]]
      : [process.execPath, args];
    this.child = spawn(bin, argv, { env, stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    this.child.on(
      'message',
      (reply: { id: number; ok: boolean; result?: unknown; error?: string }) => {
        this.replies.get(reply.id)?.(reply);
        this.replies.delete(reply.id);
      },
    );
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null)
        throw new Error(`${this.side} server exited at boot:\n${this.log}`);
      try {
        if ((await fetch(`${this.url}/health/live`)).ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${this.side} server did not become live:\n${this.log}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  resetLag(): Promise<unknown> {
    return this.ask({ type: 'lag:reset' });
  }

  lag(): Promise<LagStats> {
    return this.ask({ type: 'lag' }) as Promise<LagStats>;
  }

  startProfile(): Promise<unknown> {
    return this.ask({ type: 'profile:start' });
  }

  stopProfile(path: string): Promise<unknown> {
    return this.ask({ type: 'profile:stop', path });
  }

  /** Samples allocations; the profile written at stop holds what is still alive then. */
  startHeapProfile(allocations = false): Promise<unknown> {
    return this.ask({ type: 'heap:start', allocations });
  }

  stopHeapProfile(path: string): Promise<unknown> {
    return this.ask({ type: 'heap:stop', path });
  }

  /** Jelmore's own view of its event loop: the Prometheus gauge, over the time since the last scrape. */
  async prometheusLagP99Ms(): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const match = /^jelmore_nodejs_eventloop_lag_p99_seconds (\S+)$/m.exec(text);
    return match ? Number(match[1]) * 1000 : NaN;
  }

  private ask(
    request: ProbeRequest extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never,
  ): Promise<unknown> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.replies.set(id, (reply) =>
        reply.ok ? resolve(reply.result) : reject(new Error(reply.error)),
      );
      this.child!.send({ ...request, id });
    });
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
