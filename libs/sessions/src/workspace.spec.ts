import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@jelmore/contracts';
import { isInsideWorkspace, resolveSessionCwd } from './workspace';

describe('workspace confinement', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-ws-')));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, 'project', 'src'), { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, join(root, 'escape'));
    symlinkSync(join(root, 'project'), join(root, 'alias'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('gives a session without cwd a fresh directory of its own under the root', () => {
    expect(resolveSessionCwd(root, 'abc', undefined)).toBe(join(root, 'abc'));
  });

  it('resolves relative and absolute paths inside the root', () => {
    expect(resolveSessionCwd(root, 'x', 'project/src')).toBe(join(root, 'project', 'src'));
    expect(resolveSessionCwd(root, 'x', join(root, 'project'))).toBe(join(root, 'project'));
    // A link that stays inside is followed to its real place.
    expect(resolveSessionCwd(root, 'x', 'alias')).toBe(join(root, 'project'));
  });

  it.each([
    ['..', 'parent'],
    ['../outside', 'sibling'],
    ['project/../../outside', 'dot-dot through a real directory'],
    ['escape', 'symlink pointing out'],
    ['/etc', 'absolute path elsewhere'],
    ['missing', 'nonexistent'],
  ])('refuses %s (%s) with VALIDATION_FAILED', (requested) => {
    expect(() => resolveSessionCwd(root, 'x', requested)).toThrow(
      expect.objectContaining({ code: ErrorCode.ValidationFailed }),
    );
  });

  it('tells inside from outside after following links', () => {
    expect(isInsideWorkspace(root, join(root, 'project'))).toBe(true);
    expect(isInsideWorkspace(root, root)).toBe(true);
    expect(isInsideWorkspace(root, join(root, 'escape'))).toBe(false);
    expect(isInsideWorkspace(root, outside)).toBe(false);
    expect(isInsideWorkspace(root, join(root, 'nope'))).toBe(false);
  });
});
