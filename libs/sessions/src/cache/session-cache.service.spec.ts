import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textInput } from '@jelmore/contracts';
import type { SessionCheckpoints } from '../git/session-checkpoints';
import type { SessionsModuleOptions } from '../sessions.options';
import { startingRecord } from '../store/session-record';
import { SessionCache } from './session-cache.service';

describe('SessionCache', () => {
  let dir: string;
  const cache = new SessionCache(
    {} as SessionCheckpoints,
    { cache: { ttlSeconds: 60, maxEntries: 10, maxBytes: 1 << 20 } } as SessionsModuleOptions,
  );
  const record = (owner: string | null) =>
    startingRecord({
      id: 's',
      owner,
      provider: 'p',
      model: 'm',
      cwd: dir,
      nodeId: 'n',
      maxBudgetUsd: null,
      permissions: 'deny-writes',
      title: null,
    });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-cache-'));
    writeFileSync(join(dir, 'a.txt'), 'one');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses cache: true unless the session cannot write', () => {
    for (const permissions of [undefined, 'ask', 'bypass'] as const) {
      expect(() => cache.check({ cache: true, permissions })).toThrow(
        expect.objectContaining({ code: 'CACHE_NEEDS_READ_ONLY' }),
      );
    }
    expect(() => cache.check({ cache: true, permissions: 'deny-writes' })).not.toThrow();
    expect(() => cache.check({ permissions: 'bypass' })).not.toThrow();
  });

  it('keys a turn by owner, history, input and the files of a cwd in no repository', async () => {
    const key = (owner: string | null, previous = '', text = 'q') =>
      cache.keyOf(record(owner), previous, textInput(text));
    const first = await key('alice');
    expect(await key('alice')).toBe(first);
    expect(await key('bob')).not.toBe(first);
    expect(await key('alice', 'earlier')).not.toBe(first);
    expect(await key('alice', '', 'other')).not.toBe(first);
    writeFileSync(join(dir, 'a.txt'), 'two');
    expect(await key('alice')).not.toBe(first);
  });
});
