import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type {
  SessionConfig,
  WarmPoolMetrics,
  WarmPoolMissReason,
  WarmSessionRequest,
} from '@jelmore/contracts';

/** An agent that can be started before its session's first input. */
export interface WarmAgent {
  readonly pid?: number;
  /** Starts the agent process; resolves once it is ready for its first input, rejects if it exits first. */
  prestart(): Promise<void>;
  terminate(): Promise<void>;
}

export type WarmConfig = SessionConfig & { model: string };

export interface WarmPoolOptions<A extends WarmAgent> {
  /** How many ready agents to keep. */
  size: number;
  /** The workspace root (a real path): an agent waits in `<root>/<its id>`, a session's default cwd. */
  root: string;
  /** The model warm agents run (a full id). */
  model: string;
  /** A new agent for `config`; it must call `onExit` when its process exits (`expected` after terminate). */
  create(config: WarmConfig, onExit: (expected: boolean) => void): A;
  /** An agent not ready by then is ended and counted as a failed start. */
  readyTimeoutMs?: number;
  /** A claimed agent whose session is not created by then is ended (the session went elsewhere). */
  claimTtlMs?: number;
  /** Waits between start attempts after failures: doubling from `min` up to `max`. */
  retryMs?: { min: number; max: number };
  /**
   * How long a hit waits before its replacement starts: a CLI start takes a core for a few hundred ms,
   * which on a small machine would slow the very session that was just handed its process.
   */
  refillDelayMs?: number;
}

interface Entry<A> {
  id: string;
  config: WarmConfig;
  agent: A;
  ready: boolean;
  /** Where its exit goes once a session adopted it; until then the pool handles it. */
  adoptedExit?: (expected: boolean) => void;
  /** Set while claimed: ends the agent if no session takes it. */
  claimTimer?: NodeJS.Timeout;
}

const MISS_REASONS: readonly WarmPoolMissReason[] = ['empty', 'model', 'cwd', 'settings'];

/**
 * Agent processes started ahead of their sessions, so that a session starts without waiting for one.
 *
 * An agent's session id and directory are fixed when its process starts (Claude Code: `--session-id`
 * and the process cwd; the CLI has no documented way to change either later), so each warm agent gets a
 * pre-allocated id and its own directory `<root>/<id>`: the very directory a session without a cwd of
 * its own gets. The sessions layer asks for a warm id before it picks one (`claim`), creates the
 * session under that id, and the provider hands the waiting agent to it (`take`). Anything else the
 * session asks for (model, cwd, permissions, ...) must equal the warm agent's settings, or it is a
 * miss and the session starts cold, under the same id.
 */
export class WarmPool<A extends WarmAgent> {
  private readonly logger = new Logger(WarmPool.name);
  private readonly idle: Entry<A>[] = [];
  private readonly claimed = new Map<string, Entry<A>>();
  private readonly misses = Object.fromEntries(MISS_REASONS.map((r) => [r, 0])) as Record<
    WarmPoolMissReason,
    number
  >;
  private hits = 0;
  private replaced = 0;
  private failures = 0;
  private filling?: Promise<void>;
  private closed = false;
  private retryTimer?: { timer: NodeJS.Timeout; resolve: () => void };
  private refillTimer?: NodeJS.Timeout;
  private readonly readyTimeoutMs: number;
  private readonly claimTtlMs: number;
  private readonly retryMs: { min: number; max: number };

  constructor(private readonly options: WarmPoolOptions<A>) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
    this.claimTtlMs = options.claimTtlMs ?? 5_000;
    this.retryMs = options.retryMs ?? { min: 1_000, max: 60_000 };
  }

  /** Starts agents until `size` wait (in the background, one at a time: each start costs a core). */
  fill(): Promise<void> {
    if (this.closed || this.options.size <= 0) return Promise.resolve();
    this.filling ??= this.refill().finally(() => (this.filling = undefined));
    return this.filling;
  }

  /**
   * The id of a ready agent for this request, reserved for it, or undefined (a miss, counted). The
   * caller must create the session under that id, in `<root>/<id>`, right away: see `take`.
   */
  claim(request: WarmSessionRequest): string | undefined {
    if (this.closed) return undefined;
    const { cwd, tenant: _tenant, ...settings } = request;
    if (cwd !== undefined) return this.miss('cwd');
    if (settings.model !== this.options.model) return this.miss('model');
    if (!sameSettings(settings, { model: this.options.model })) return this.miss('settings');
    const index = this.idle.findIndex((e) => e.ready);
    if (index < 0) return this.miss('empty');
    const [entry] = this.idle.splice(index, 1);
    entry.claimTimer = setTimeout(() => this.expire(entry), this.claimTtlMs);
    entry.claimTimer.unref();
    this.claimed.set(entry.id, entry);
    this.refillTimer ??= setTimeout(() => {
      this.refillTimer = undefined;
      void this.fill();
    }, this.options.refillDelayMs ?? 1_000).unref();
    return entry.id;
  }

  /**
   * The claimed agent for this session when its settings match, now reporting its exit to `onExit`;
   * undefined otherwise (a session that claimed nothing, e.g. a resumed one, is no miss).
   */
  take(config: WarmConfig, onExit: (expected: boolean) => void): A | undefined {
    const entry = this.claimed.get(config.sessionId);
    if (!entry) return undefined;
    this.claimed.delete(entry.id);
    clearTimeout(entry.claimTimer);
    // The tenant is no setting of the process: a warm agent keeps a home of its own (see ClaudeCodeProvider).
    const { tenant: _tenant, ...settings } = config;
    if (!sameSettings(entry.config, settings) || entry.agent.pid === undefined) {
      // The id and directory are the session's now: only the process goes.
      this.miss('settings');
      void entry.agent.terminate();
      return undefined;
    }
    entry.adoptedExit = onExit;
    this.hits++;
    return entry.agent;
  }

  metrics(): WarmPoolMetrics {
    return {
      size: this.options.size,
      ready: this.idle.filter((e) => e.ready).length,
      hits: this.hits,
      misses: { ...this.misses },
      replaced: this.replaced,
    };
  }

  /** Ends every agent not handed to a session, and starts no more. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.refillTimer);
    if (this.retryTimer) {
      clearTimeout(this.retryTimer.timer);
      this.retryTimer.resolve();
    }
    const idle = this.idle.splice(0);
    const claimed = [...this.claimed.values()];
    this.claimed.clear();
    for (const entry of claimed) clearTimeout(entry.claimTimer);
    await Promise.all([...idle, ...claimed].map((entry) => entry.agent.terminate()));
    for (const entry of idle) removeEmptyDir(entry.config.cwd);
    await this.filling;
  }

  private async refill(): Promise<void> {
    while (!this.closed && this.idle.length < this.options.size) {
      if (this.failures > 0) {
        const delay = Math.min(this.retryMs.max, this.retryMs.min * 2 ** (this.failures - 1));
        await new Promise<void>((resolve) => {
          this.retryTimer = { timer: setTimeout(resolve, delay), resolve };
          this.retryTimer.timer.unref();
        });
        this.retryTimer = undefined;
        if (this.closed) return;
      }
      await this.startOne();
    }
  }

  private async startOne(): Promise<void> {
    const id = randomUUID();
    const config: WarmConfig = {
      sessionId: id,
      cwd: join(this.options.root, id),
      model: this.options.model,
    };
    mkdirSync(config.cwd, { recursive: true });
    const entry: Entry<A> = { id, config, agent: undefined as unknown as A, ready: false };
    entry.agent = this.options.create(config, (expected) => this.exited(entry, expected));
    this.idle.push(entry);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        entry.agent.prestart(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`not ready within ${this.readyTimeoutMs} ms`)),
            this.readyTimeoutMs,
          );
        }),
      ]);
      entry.ready = true;
      this.failures = 0;
      this.logger.debug({ msg: 'warm agent ready', sessionId: id, pid: entry.agent.pid });
    } catch (err) {
      if (this.closed) return;
      this.failures++;
      this.logger.warn({
        msg: 'warm agent failed to start',
        sessionId: id,
        reason: err instanceof Error ? err.message : String(err),
      });
      this.drop(entry);
      await entry.agent.terminate();
      removeEmptyDir(config.cwd);
    } finally {
      clearTimeout(timer);
    }
  }

  private exited(entry: Entry<A>, expected: boolean): void {
    if (entry.adoptedExit) return entry.adoptedExit(expected);
    // Ended on purpose, or failing its start (which startOne reports).
    if (expected || this.closed || !entry.ready) return;
    if (this.claimed.delete(entry.id)) {
      clearTimeout(entry.claimTimer);
      this.logger.warn({ msg: 'claimed warm agent exited', sessionId: entry.id });
      return;
    }
    if (!this.drop(entry)) return;
    // A process that dies while waiting is replaced (after a pause should they keep dying).
    this.replaced++;
    this.failures++;
    this.logger.warn({ msg: 'warm agent exited while waiting', sessionId: entry.id });
    removeEmptyDir(entry.config.cwd);
    void this.fill();
  }

  /** A claim nobody took: its id may be another provider's session now, so its directory stays. */
  private expire(entry: Entry<A>): void {
    if (!this.claimed.delete(entry.id)) return;
    this.logger.warn({ msg: 'warm agent claimed but not used', sessionId: entry.id });
    void entry.agent.terminate();
  }

  private drop(entry: Entry<A>): boolean {
    const index = this.idle.indexOf(entry);
    if (index >= 0) this.idle.splice(index, 1);
    return index >= 0;
  }

  private miss(reason: WarmPoolMissReason): undefined {
    this.misses[reason]++;
    return undefined;
  }
}

/** Equal settings, a field left undefined being the same as one not given. */
function sameSettings(a: object, b: object): boolean {
  const defined = (c: object) =>
    Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  return isDeepStrictEqual(defined(a), defined(b));
}

/** Only an empty directory goes: whatever a session may have put there is never deleted. */
function removeEmptyDir(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty, or gone already.
  }
}
