import type { SessionEventDraft } from '@jelmore/contracts';

/** The response cache's bounds (the config file's `cache`). */
export interface CacheOptions {
  /** A recorded turn is replayed for this long after it was recorded. */
  ttlSeconds: number;
  /** Most turns kept; the least recently used goes first. */
  maxEntries: number;
  /** Most bytes of recorded events kept (as JSON); a turn larger than this is not kept. */
  maxBytes: number;
}

export const DEFAULT_CACHE_OPTIONS: CacheOptions = {
  ttlSeconds: 3600,
  maxEntries: 1000,
  maxBytes: 64 * 1024 * 1024,
};

/** Hits, misses and what the hits would have cost: what the metrics show. */
export interface CacheStats {
  hits: number;
  misses: number;
  savedUsd: number;
}

interface Entry {
  events: readonly SessionEventDraft[];
  costUsd: number;
  bytes: number;
  expiresAt: number;
}

/**
 * Recorded turns by key, in memory: an LRU bounded by entries and bytes, each entry for `ttlSeconds`.
 * A Map keeps insertion order, so re-inserting on use makes its first key the least recently used.
 */
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  readonly stats: CacheStats = { hits: 0, misses: 0, savedUsd: 0 };

  constructor(
    private readonly options: CacheOptions,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The turn recorded under `key`, counted as a hit (with its cost saved) or a miss. */
  get(key: string): readonly SessionEventDraft[] | undefined {
    const entry = this.entries.get(key);
    if (entry) this.drop(key, entry);
    if (!entry || entry.expiresAt <= this.now()) {
      this.stats.misses += 1;
      return undefined;
    }
    this.entries.set(key, entry);
    this.bytes += entry.bytes;
    this.stats.hits += 1;
    this.stats.savedUsd += entry.costUsd;
    return entry.events;
  }

  /** Keeps a turn's events, evicting the least recently used until the bounds hold. */
  set(key: string, events: readonly SessionEventDraft[], costUsd: number): void {
    const bytes = Buffer.byteLength(JSON.stringify(events));
    const old = this.entries.get(key);
    if (old) this.drop(key, old);
    if (bytes > this.options.maxBytes || this.options.maxEntries < 1) return;
    this.entries.set(key, {
      events,
      costUsd,
      bytes,
      expiresAt: this.now() + this.options.ttlSeconds * 1000,
    });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes)
        break;
      this.drop(oldest, entry);
    }
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.bytes;
  }
}
