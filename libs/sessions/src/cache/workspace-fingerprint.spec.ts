import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentHash } from './workspace-fingerprint';

describe('contentHash', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jelmore-hash-'));
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'a.ts'), 'one');
    writeFileSync(join(dir, 'b.txt'), 'two');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is the same for the same files, and changes with a content, a name or a link', async () => {
    const first = await contentHash(dir);
    expect(await contentHash(dir)).toBe(first);
    writeFileSync(join(dir, 'src', 'a.ts'), 'One');
    const edited = await contentHash(dir);
    expect(edited).not.toBe(first);
    writeFileSync(join(dir, 'src', 'a.ts'), 'one');
    expect(await contentHash(dir)).toBe(first);
    writeFileSync(join(dir, 'c.txt'), '');
    expect(await contentHash(dir)).not.toBe(first);
    rmSync(join(dir, 'c.txt'));
    symlinkSync('b.txt', join(dir, 'link'));
    expect(await contentHash(dir)).not.toBe(first);
  });

  it('gives up above its bounds', async () => {
    expect(await contentHash(dir, { files: 1, bytes: 100 })).toBeUndefined();
    expect(await contentHash(dir, { files: 10, bytes: 5 })).toBeUndefined();
    expect(await contentHash(dir, { files: 2, bytes: 6 })).toBeDefined();
  });
});
