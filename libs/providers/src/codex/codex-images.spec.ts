import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, SessionError } from '@jelmore/contracts';
import { codexPrompt, removeQuietly, writeTurnImages } from './codex-images';
import { agentAttachment } from '../../../../test/support/media';

const png = agentAttachment('image', 'image/png', Buffer.from('not really a png, but bytes'));
const webp = agentAttachment('image', 'image/webp', Buffer.from('other bytes'));

describe('codexPrompt', () => {
  it('names each image as Codex does, where it stood, and inlines text documents', () => {
    const notes = agentAttachment(
      'document',
      'text/markdown',
      Buffer.from('# Notes\nkeep'),
      'notes.md',
    );
    expect(
      codexPrompt(
        [{ type: 'text', text: 'compare' }, png, { type: 'text', text: 'with' }, webp, notes],
        's1',
      ),
    ).toBe(
      'compare\n\n[Image #1]\n\nwith\n\n[Image #2]\n\n<document name="notes.md">\n# Notes\nkeep\n</document>',
    );
  });

  it('refuses a PDF with a code, rather than dropping it', () => {
    const pdf = agentAttachment(
      'document',
      'application/pdf',
      Buffer.from('%PDF-1.4\n'),
      'spec.pdf',
    );
    const refuse = () => codexPrompt([{ type: 'text', text: 'read this' }, pdf], 's1');
    expect(refuse).toThrow(SessionError);
    expect(refuse).toThrow(
      expect.objectContaining({
        code: ErrorCode.MultimodalUnsupported,
        details: { provider: 'codex', sessionId: 's1' },
      }),
    );
  });
});

describe('writeTurnImages', () => {
  let dir: string;

  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'jelmore-codex-images-')), 'images', 's1');
  });

  afterEach(() => rmSync(join(dir, '..', '..'), { recursive: true, force: true }));

  it('writes each image as <sha256>.<ext> readable by the owner only, in input order', () => {
    const paths = writeTurnImages(dir, [{ type: 'text', text: 'look' }, png, webp, png]);

    expect(paths).toEqual([
      join(dir, `${png.sha256}.png`),
      join(dir, `${webp.sha256}.webp`),
      join(dir, `${png.sha256}.png`),
    ]);
    expect(readFileSync(paths[0])).toEqual(png.bytes);
    expect(readFileSync(paths[1])).toEqual(webp.bytes);
    expect(statSync(paths[0]).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    removeQuietly(paths);
    expect(readdirSync(dir)).toEqual([]);
    removeQuietly([dir, join(dir, 'gone')]);
    expect(existsSync(dir)).toBe(false);
  });

  it('names a file by its bytes, whatever the reference claims, and writes nothing for text', () => {
    const claimed = { ...png, sha256: '../../escape' };
    expect(writeTurnImages(dir, [claimed])).toEqual([join(dir, `${png.sha256}.png`)]);

    const other = join(dir, '..', 's2');
    expect(writeTurnImages(other, [{ type: 'text', text: 'no images' }])).toEqual([]);
    expect(existsSync(other)).toBe(false);
  });
});
