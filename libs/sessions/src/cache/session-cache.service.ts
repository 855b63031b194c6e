import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  type AgentInput,
  type AgentSession,
  ErrorCode,
  JelmoreError,
  type SessionEventDraft,
} from '@jelmore/contracts';
import { repositoryOf, SessionCheckpoints } from '../git/session-checkpoints';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { CreateSessionInput } from '../sessions.types';
import type { SessionRecord } from '../store/session-record';
import { CachingAgent, type TurnCache } from './caching-agent';
import { type CacheStats, DEFAULT_CACHE_OPTIONS, ResponseCache } from './response-cache';
import { contentHash } from './workspace-fingerprint';

/**
 * The response cache of the sessions created with `cache: true` (docs/cache.md): their turns are keyed
 * by owner, provider, model, cwd, the files (git tree id, or a content hash), the turns before and the
 * input the agent gets, and an identical turn is replayed rather than run.
 */
@Injectable()
export class SessionCache implements TurnCache {
  private readonly cache: ResponseCache;

  constructor(
    private readonly checkpoints: SessionCheckpoints,
    @Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions,
  ) {
    this.cache = new ResponseCache(options.cache ?? DEFAULT_CACHE_OPTIONS);
  }

  get stats(): Readonly<CacheStats> {
    return this.cache.stats;
  }

  /**
   * CACHE_NEEDS_READ_ONLY unless the session cannot write: a turn that may change the files has an
   * answer that depends on more than the files it started with. No provider is read-only by itself.
   */
  check(input: Pick<CreateSessionInput, 'cache' | 'permissions'>): void {
    if (input.cache && input.permissions !== 'deny-writes') {
      throw new JelmoreError(
        ErrorCode.CacheNeedsReadOnly,
        "cache: true needs permissions 'deny-writes': a session that may write cannot be cached",
      );
    }
  }

  /** The session's agent, with its turns through the cache when the session asked for it. */
  wrap(record: SessionRecord, agent: AgentSession): AgentSession {
    return record.cache ? new CachingAgent(agent, record, this) : agent;
  }

  async keyOf(
    record: SessionRecord,
    previous: string,
    input: AgentInput,
  ): Promise<string | undefined> {
    const files = await this.filesOf(record);
    if (files === undefined) return undefined;
    const hash = createHash('sha256');
    // The owner too: each key's agents have a home of their own (memory, settings), and one key must
    // not learn from a hit what another asked.
    const where = [record.owner, record.provider, record.model, record.cwd, files, previous];
    hash.update(JSON.stringify(where));
    for (const block of input) {
      if (block.type === 'text') hash.update(`\0text\0${block.text.length}\0${block.text}`);
      else {
        const sha = createHash('sha256').update(block.bytes).digest('hex');
        hash.update(`\0${block.type}\0${block.mediaType}\0${block.name ?? ''}\0${sha}`);
      }
    }
    return hash.digest('hex');
  }

  get(key: string): readonly SessionEventDraft[] | undefined {
    return this.cache.get(key);
  }

  set(key: string, events: readonly SessionEventDraft[], costUsd: number): void {
    this.cache.set(key, events, costUsd);
  }

  /**
   * The files as a turn starts: the repository's tree (tracked and untracked, not ignored) through the
   * session's checkpoint index, or a content hash of the cwd; undefined above its bounds.
   */
  private filesOf(record: SessionRecord): Promise<string | undefined> {
    if (record.git) {
      return this.checkpoints.store
        .snapshot(repositoryOf(record.git), record.id)
        .then((tree) => `git:${tree}`);
    }
    return contentHash(record.cwd).then((hash) => hash && `files:${hash}`);
  }
}
