import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode } from '@jelmore/contracts';
import {
  CwdAccess,
  isInsideWorkspace,
  mayUseFolder,
  removeSessionFolder,
  resolveSessionCwd,
  sessionFolderIds,
} from './workspace';

const ALICE_SESSION = '11111111-1111-4111-8111-111111111111';
const BOB_SESSION = '22222222-2222-4222-8222-222222222222';

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
    writeFileSync(join(outside, 'secret'), 'x');
    writeFileSync(join(root, 'notes.txt'), 'x');
    symlinkSync(outside, join(root, 'escape'));
    symlinkSync(join(root, 'project'), join(root, 'alias'));
    symlinkSync(join(outside, 'missing'), join(root, 'dangling'));
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('gives a session without cwd a fresh directory of its own under the root', async () => {
    await expect(resolveSessionCwd(root, 'abc', undefined)).resolves.toBe(join(root, 'abc'));
  });

  it('resolves relative and absolute paths inside the root', async () => {
    await expect(resolveSessionCwd(root, 'x', 'project/src')).resolves.toBe(
      join(root, 'project', 'src'),
    );
    await expect(resolveSessionCwd(root, 'x', join(root, 'project'))).resolves.toBe(
      join(root, 'project'),
    );
    // A link that stays inside is followed to its real place.
    await expect(resolveSessionCwd(root, 'x', 'alias')).resolves.toBe(join(root, 'project'));
  });

  it.each([
    ['..', 'parent'],
    ['../outside', 'sibling'],
    ['project/../../outside', 'dot-dot through a real directory'],
    ['escape', 'symlink pointing out'],
    ['/etc', 'absolute path elsewhere'],
    ['missing', 'nonexistent'],
    ['notes.txt', 'a regular file'],
  ])('refuses %s (%s) with VALIDATION_FAILED', async (requested) => {
    await expect(resolveSessionCwd(root, 'x', requested)).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
      details: { field: 'cwd' },
    });
  });

  it('refuses every path it may not use in the same words, whether it exists or not', async () => {
    const messages = new Set<string>();
    for (const requested of [
      join(outside, 'secret'),
      join(outside, 'nope'),
      outside,
      '/etc/passwd',
      '/etc/nope',
      'escape/secret',
      'escape/nope',
      'dangling',
      'notes.txt',
      'missing',
    ]) {
      const err = await resolveSessionCwd(root, 'x', requested).catch((e: Error) => e);
      messages.add((err as Error).message.replace(`'${requested}'`, "'…'"));
    }
    expect([...messages]).toEqual(["cwd '…' must be an existing directory inside the workspace"]);
  });

  it('tells inside from outside after following links', () => {
    expect(isInsideWorkspace(root, join(root, 'project'))).toBe(true);
    expect(isInsideWorkspace(root, root)).toBe(true);
    expect(isInsideWorkspace(root, join(root, 'escape'))).toBe(false);
    expect(isInsideWorkspace(root, outside)).toBe(false);
    expect(isInsideWorkspace(root, join(root, 'nope'))).toBe(false);
  });
});

describe("a tenant's cwd", () => {
  let base: string;
  let root: string;
  let alice: CwdAccess;
  let aliceWithoutShared: CwdAccess;

  beforeAll(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-tenant-')));
    root = join(base, 'root');
    mkdirSync(join(root, ALICE_SESSION, 'src'), { recursive: true });
    mkdirSync(join(root, BOB_SESSION, 'src'), { recursive: true });
    mkdirSync(join(root, 'shared', 'team'), { recursive: true });
    mkdirSync(join(root, 'project'), { recursive: true });
    // Links in alice's own folder: one into bob's, one into the shared workspace.
    symlinkSync(join(root, BOB_SESSION), join(root, ALICE_SESSION, 'to-bob'));
    symlinkSync(join(root, 'shared'), join(root, ALICE_SESSION, 'to-shared'));
    const ownsSession = (id: string) => Promise.resolve(id === ALICE_SESSION);
    alice = { sharedRoot: join(root, 'shared'), ownsSession };
    aliceWithoutShared = { ownsSession };
  });

  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it.each([
    [ALICE_SESSION, ALICE_SESSION],
    [`${ALICE_SESSION}/src`, `${ALICE_SESSION}/src`],
    ['shared', 'shared'],
    ['shared/team', 'shared/team'],
    [`${ALICE_SESSION}/to-shared/team`, 'shared/team'],
  ])('may be %s, in its own sessions or the shared workspace', async (requested, real) => {
    await expect(resolveSessionCwd(root, 'new', requested, alice)).resolves.toBe(join(root, real));
  });

  it.each([
    ['.', 'the workspace root'],
    [BOB_SESSION, "another tenant's session folder"],
    [`${BOB_SESSION}/src`, "a folder in another tenant's session"],
    [`${ALICE_SESSION}/to-bob`, "a link from its own folder into another tenant's"],
    ['project', 'a folder of the root that is no session of its own'],
    [`${BOB_SESSION}/nope`, "a missing folder in another tenant's session"],
    ['/etc', 'a folder outside the root'],
  ])('may not be %s (%s), and is told so in the same words', async (requested) => {
    const err = (await resolveSessionCwd(root, 'new', requested, alice).catch((e) => e)) as Error;
    expect(err).toMatchObject({ code: ErrorCode.ValidationFailed });
    expect(err.message).toBe(
      `cwd '${requested}' must be an existing directory in one of your sessions' folders or in the shared workspace`,
    );
  });

  it('has no shared workspace when none is configured', async () => {
    await expect(
      resolveSessionCwd(root, 'new', 'shared', aliceWithoutShared),
    ).rejects.toMatchObject({ code: ErrorCode.ValidationFailed });
    await expect(mayUseFolder(root, join(root, 'shared'), aliceWithoutShared)).resolves.toBe(false);
  });

  it('takes a shared root that is the root itself, or out of it, as none', async () => {
    const sharesRoot = { ...alice, sharedRoot: root };
    await expect(mayUseFolder(root, join(root, 'project'), sharesRoot)).resolves.toBe(false);
    const sharesOutside = { ...alice, sharedRoot: base };
    await expect(mayUseFolder(root, join(root, 'project'), sharesOutside)).resolves.toBe(false);
  });

  it('decides where a directory change may move the session', async () => {
    await expect(mayUseFolder(root, join(root, ALICE_SESSION, 'src'), alice)).resolves.toBe(true);
    await expect(mayUseFolder(root, join(root, 'shared', 'team'), alice)).resolves.toBe(true);
    await expect(mayUseFolder(root, join(root, BOB_SESSION), alice)).resolves.toBe(false);
    await expect(mayUseFolder(root, join(root, ALICE_SESSION, 'to-bob'), alice)).resolves.toBe(
      false,
    );
    await expect(mayUseFolder(root, root, alice)).resolves.toBe(false);
    // Without confinement (admin, local mode): any folder of the root, and nothing outside it.
    await expect(mayUseFolder(root, join(root, BOB_SESSION))).resolves.toBe(true);
    await expect(mayUseFolder(root, base)).resolves.toBe(false);
  });
});

describe('session folder removal', () => {
  let base: string;
  let root: string;
  let outside: string;

  beforeEach(() => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-rm-')));
    root = join(base, 'root');
    outside = join(base, 'outside');
    mkdirSync(join(root, ALICE_SESSION, 'deep'), { recursive: true });
    mkdirSync(join(outside, 'dir'), { recursive: true });
    writeFileSync(join(outside, 'dir', 'keep.txt'), 'x');
  });

  afterEach(() => rmSync(base, { recursive: true, force: true }));

  it('removes the folder with what is in it, and removes links inside as links', () => {
    symlinkSync(join(outside, 'dir'), join(root, ALICE_SESSION, 'deep', 'link'));
    expect(removeSessionFolder(root, ALICE_SESSION)).toBe(true);
    expect(existsSync(join(root, ALICE_SESSION))).toBe(false);
    expect(existsSync(join(outside, 'dir', 'keep.txt'))).toBe(true);
  });

  it('leaves alone a link in the place of a session folder, and what it points to', () => {
    symlinkSync(join(outside, 'dir'), join(root, BOB_SESSION));
    expect(sessionFolderIds(root)).toEqual([ALICE_SESSION]);
    expect(removeSessionFolder(root, BOB_SESSION)).toBe(false);
    expect(existsSync(join(outside, 'dir', 'keep.txt'))).toBe(true);
  });

  it('lists only folders named by session ids, and removes nothing else', () => {
    mkdirSync(join(root, 'project'));
    writeFileSync(join(root, '33333333-3333-4333-8333-333333333333'), 'a file');
    expect(sessionFolderIds(root)).toEqual([ALICE_SESSION]);
    expect(removeSessionFolder(root, 'project')).toBe(false);
    expect(removeSessionFolder(root, '33333333-3333-4333-8333-333333333333')).toBe(false);
    expect(existsSync(join(root, 'project'))).toBe(true);
  });
});
