import { IsInt, Min } from 'class-validator';
import { parseSetting, type SettingsTable } from '@jelmore/contracts';
import { DEFAULT_CACHE_OPTIONS } from '@jelmore/sessions';

/** The response cache of sessions created with `cache: true` (docs/cache.md): its bounds. */
export const CACHE_SETTINGS: SettingsTable = {
  cacheTtlSeconds: {
    env: 'JELMORE_CACHE_TTL_SECONDS',
    file: 'cache.ttl_seconds',
    parse: parseSetting.int,
    default: DEFAULT_CACHE_OPTIONS.ttlSeconds,
    rules: [IsInt(), Min(1)],
    description:
      'A recorded turn is replayed for this long after it ran. See [Response cache](cache.md).',
  },
  cacheMaxEntries: {
    env: 'JELMORE_CACHE_MAX_ENTRIES',
    file: 'cache.max_entries',
    parse: parseSetting.int,
    default: DEFAULT_CACHE_OPTIONS.maxEntries,
    rules: [IsInt(), Min(0)],
    description:
      'Most turns the response cache keeps (in memory, per node); the least recently used go first. `0`: none.',
  },
  cacheMaxBytes: {
    env: 'JELMORE_CACHE_MAX_BYTES',
    file: 'cache.max_bytes',
    parse: parseSetting.int,
    default: DEFAULT_CACHE_OPTIONS.maxBytes,
    defaultText: '`67108864` (64 MiB)',
    rules: [IsInt(), Min(0)],
    description:
      'Most bytes of recorded events the response cache keeps (as JSON); a larger turn is not kept.',
  },
};
