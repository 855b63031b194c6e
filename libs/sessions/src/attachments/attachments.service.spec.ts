import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AttachmentRef,
  AttachmentResource,
  ContentBlock,
  ErrorCode,
  TurnBlock,
} from '@jelmore/contracts';
import { pdfDocument, pngImage, sha256 } from '../../../../test/support/media';
import {
  sessionRecord,
  STORE_ADAPTERS,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { DEFAULT_SESSIONS_OPTIONS } from '../sessions.options';
import type { SessionActor } from '../sessions.types';
import { SessionStore } from '../store/session-store';
import { AttachmentStore } from './attachment-store';
import { Attachments } from './attachments.service';

const LIMITS = { maxAttachmentBytes: 2048, maxTurnAttachmentBytes: 3072, maxContentBlocks: 5 };
const TEXT = { type: 'text', text: 'see' } as const;
const ALICE: SessionActor = { id: 'alice', admin: false };
const BOB: SessionActor = { id: 'bob', admin: false };
const ADMIN: SessionActor = { id: 'root', admin: true };
const NOTES = Buffer.from('# Notes\n\nünïcode — and a tab\there\n');

/** A PNG of exactly `size` bytes (trailing bytes after IEND do not change what it is). */
const png = (seed: number, size = 0) => {
  const image = pngImage(seed);
  return Buffer.concat([image, Buffer.alloc(Math.max(0, size - image.length))]);
};
/** A block of `source`: its bytes inline as base64, or an upload by its id. */
const block = (type: 'image' | 'document', source: Buffer | AttachmentResource, extra = {}) =>
  (Buffer.isBuffer(source)
    ? { type, data: source.toString('base64'), ...extra }
    : { type, attachmentId: source.id, ...extra }) as ContentBlock;
const refOf = ({ id, createdAt: _, ...kept }: AttachmentResource): TurnBlock => ({
  type: 'image',
  attachmentId: id,
  ...kept,
});

describe.each(STORE_ADAPTERS)('Attachments on $adapter', ({ adapter, create }) => {
  const suite = useStoreDatabase(create);
  let attachments: Attachments;
  let store: AttachmentStore;
  // As the server runs them: a SQLite node keeps the bytes as files in its data dir.
  const attachmentsDir =
    adapter === 'SQLite' ? mkdtempSync(join(tmpdir(), 'jelmore-attachments-')) : undefined;

  beforeAll(() => {
    const options = {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: suite.database.url,
      workspaceRoot: tmpdir(),
      ...LIMITS,
      ...(attachmentsDir ? { attachmentsDir } : {}),
    };
    store = new AttachmentStore(suite.connection, options);
    attachments = new Attachments(store, options);
  });

  beforeEach(() => {
    if (attachmentsDir) rmSync(attachmentsDir, { recursive: true, force: true });
  });

  afterAll(() => {
    if (attachmentsDir) rmSync(attachmentsDir, { recursive: true, force: true });
  });

  /** Rows of a table; `attachment_blobs`: the kept contents, wherever they are. */
  const rows = async (table: 'attachments' | 'attachment_blobs') => {
    if (table === 'attachment_blobs' && attachmentsDir) {
      const files = existsSync(attachmentsDir)
        ? readdirSync(attachmentsDir, { recursive: true, withFileTypes: true })
        : [];
      return files.filter((entry) => entry.isFile() && !entry.name.endsWith('.partial')).length;
    }
    const { n } = await suite.connection.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(n);
  };
  /** The error `p` rejects with, or 'accepted'. */
  const refusal = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (err: unknown) => err,
    );

  describe('upload and read', () => {
    it('takes the type from the bytes; the header only tells kinds of text apart', async () => {
      const image = await attachments.upload(png(1), 'alice', 'image/jpeg');
      expect(image).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        mediaType: 'image/png',
        size: png(1).length,
        sha256: sha256(png(1)),
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      const typeOf = async (bytes: Buffer, declared?: string) =>
        (await attachments.upload(bytes, null, declared)).mediaType;
      expect(await typeOf(NOTES, 'Text/Markdown; charset=UTF-8')).toBe('text/markdown');
      expect(await typeOf(NOTES, 'application/json')).toBe('application/json');
      expect(await typeOf(NOTES, 'image/png')).toBe('text/plain');
      expect(await typeOf(NOTES)).toBe('text/plain');
      expect(await typeOf(pdfDocument(), 'application/octet-stream')).toBe('application/pdf');
    });

    it('refuses empty, too large and unsupported uploads, storing nothing of them', async () => {
      expect(await refusal(attachments.upload(Buffer.alloc(0), 'alice'))).toMatchObject({
        code: ErrorCode.ValidationFailed,
      });
      expect(await refusal(attachments.upload(png(2, 2049), 'alice'))).toMatchObject({
        code: ErrorCode.AttachmentTooLarge,
        details: { scope: 'file', limitBytes: 2048, size: 2049 },
      });
      expect(
        await refusal(attachments.upload(Buffer.from([0x7f, 0x45, 0x4c, 0x46]), 'a')),
      ).toMatchObject({ code: ErrorCode.MediaTypeUnsupported });
      expect(await rows('attachments')).toBe(0);
      expect((await attachments.upload(png(2, 2048), 'alice')).size).toBe(2048);
    });

    it("reads an attachment for its owner, an admin and internal callers; others don't see it", async () => {
      const { id } = await attachments.upload(png(3), 'alice');
      for (const actor of [ALICE, ADMIN, undefined]) {
        const { resource, bytes } = await attachments.read(id, actor);
        expect(bytes.equals(png(3))).toBe(true);
        expect(resource).toEqual({ ...resource, id, mediaType: 'image/png' });
        expect(resource).not.toHaveProperty('owner');
      }
      for (const missing of [attachments.read(id, BOB), attachments.read(randomUUID())]) {
        expect(await refusal(missing)).toMatchObject({ code: ErrorCode.AttachmentNotFound });
      }
    });
  });

  describe('check', () => {
    it('takes a string as one text block, and says what images and PDFs need', async () => {
      expect(await attachments.check('hello')).toEqual({
        blocks: [{ type: 'text', text: 'hello' }],
        needs: [],
      });
      const pdf = await attachments.upload(pdfDocument(), 'alice');
      const needs = async (content: ContentBlock[]) =>
        [...(await attachments.check(content, ALICE)).needs].sort();
      expect(await needs([TEXT, block('image', png(4))])).toEqual(['multimodal']);
      expect(await needs([block('document', pdfDocument())])).toEqual(['documents']);
      expect(await needs([block('document', pdf)])).toEqual(['documents']);
      expect(await needs([block('document', NOTES, { mediaType: 'text/markdown' })])).toEqual([]);
      expect(await needs([block('image', png(4)), block('document', pdf)])).toEqual([
        'documents',
        'multimodal',
      ]);
    });

    it('refuses an empty array and more blocks than the limit', async () => {
      expect(await refusal(attachments.check([]))).toMatchObject({
        code: ErrorCode.ValidationFailed,
      });
      const six = Array.from({ length: 6 }, () => TEXT);
      expect(await refusal(attachments.check(six))).toMatchObject({
        code: ErrorCode.ValidationFailed,
        details: { limit: 5 },
      });
    });

    it('reads strict base64 only, with whitespace between its characters', async () => {
      const wrapped = png(5).toString('base64').replace(/.{20}/g, '$&\r\n ');
      const [block] = (await attachments.check([{ type: 'image', data: wrapped }])).blocks;
      expect(block).toMatchObject({ type: 'image', mediaType: 'image/png', bytes: png(5) });
      const unpadded = Buffer.from('a,b\n').toString('base64').replace(/=+$/, '');
      expect(
        (await attachments.check([{ type: 'document', data: unpadded }])).blocks,
      ).toMatchObject([{ bytes: Buffer.from('a,b\n') }]);
      // %-4 == 1 characters cannot be base64, padded or not: Buffer.from would drop the last one.
      for (const data of ['', '  ', 'bm90IGJhc2U2NA!!', 'QUJDR', 'QUJDR=', '==', 'A=', 'QQ=QQ==']) {
        const err = await refusal(attachments.check([TEXT, { type: 'document', data }]));
        const invalid = { code: ErrorCode.InvalidBase64, details: { block: 1 } };
        expect({ data, err }).toMatchObject({ data, err: invalid });
      }
    });

    it('refuses a file over the limit and a turn over its limit, with details', async () => {
      expect(
        await refusal(attachments.check([block('image', png(6)), block('image', png(6, 2049))])),
      ).toMatchObject({
        code: ErrorCode.AttachmentTooLarge,
        details: { scope: 'file', limitBytes: 2048, size: 2049, block: 1 },
      });
      const uploaded = await attachments.upload(png(7, 1600), 'alice');
      for (const first of [block('image', png(8, 1600)), block('image', uploaded)]) {
        expect(
          await refusal(attachments.check([first, block('image', png(9, 1500))], ALICE)),
        ).toMatchObject({
          code: ErrorCode.AttachmentTooLarge,
          details: { scope: 'turn', limitBytes: 3072, size: 3100 },
        });
      }
      expect(await rows('attachments')).toBe(1);
    });

    it("refuses another owner's attachment, unless an admin asks", async () => {
      const bobs = await attachments.upload(png(10), 'bob');
      expect(await refusal(attachments.check([block('image', bobs)], ALICE))).toMatchObject({
        code: ErrorCode.AttachmentNotFound,
      });
      for (const actor of [BOB, ADMIN, undefined]) {
        const { needs } = await attachments.check([block('image', bobs)], actor);
        expect(needs).toEqual(['multimodal']);
      }
    });

    it('refuses a block whose type disagrees with what is stored or sent', async () => {
      const image = await attachments.upload(png(11), 'alice');
      const pdf = await attachments.upload(pdfDocument(), 'alice');
      const mismatched: ContentBlock[][] = [
        [block('image', image, { mediaType: 'image/jpeg' })],
        [block('image', pdf)],
        [block('document', image)],
        [block('image', pdfDocument())],
        [block('image', NOTES)],
        [block('document', png(11))],
        [block('image', png(11), { mediaType: 'image/gif' })],
      ];
      for (const content of mismatched) {
        expect({ content, err: await refusal(attachments.check(content, ALICE)) }).toMatchObject({
          content,
          err: { code: ErrorCode.MediaTypeMismatch },
        });
      }
      const svg = [block('image', NOTES, { mediaType: 'image/svg+xml' })];
      expect(await refusal(attachments.check(svg))).toMatchObject({
        code: ErrorCode.MediaTypeUnsupported,
        details: { block: 0 },
      });
      await attachments.check([block('image', image, { mediaType: 'image/png' })]); // agrees: taken
      expect(await rows('attachments')).toBe(2);
      expect(await rows('attachment_blobs')).toBe(2);
    });
  });

  describe('keep, load, link and prune', () => {
    it('keeps inline data content-addressed, and loads the bytes in order', async () => {
      const uploaded = await attachments.upload(NOTES, 'alice', 'text/markdown');
      const turn = await attachments.check([
        { type: 'text', text: 'compare' },
        block('image', png(12)),
        block('document', pdfDocument('kept'), { name: 'kept.pdf' }),
        block('document', uploaded, { name: 'notes.md' }),
        block('image', png(12)),
      ]);
      const blocks = await attachments.keep(turn, 'alice');
      const [text, first, pdf, byUpload, second] = blocks as AttachmentRef[];
      expect(text).toEqual({ type: 'text', text: 'compare' });
      const png12 = { mediaType: 'image/png', size: png(12).length, sha256: sha256(png(12)) };
      for (const image of [first, second]) expect(image).toMatchObject({ type: 'image', ...png12 });
      expect(pdf).toMatchObject({ mediaType: 'application/pdf', name: 'kept.pdf' });
      expect(byUpload).toEqual({ ...refOf(uploaded), type: 'document', name: 'notes.md' });
      expect(first.attachmentId).not.toBe(second.attachmentId);
      // The upload and three inline blocks: four attachments, the same PNG's bytes kept once.
      expect(await rows('attachments')).toBe(4);
      expect(await rows('attachment_blobs')).toBe(3);
      expect(await refusal(attachments.read(second.attachmentId, BOB))).toMatchObject({
        code: ErrorCode.AttachmentNotFound,
      });

      const loaded = (await attachments.load(blocks)).map((b) =>
        b.type === 'text' ? b.text : b.bytes,
      );
      expect(loaded).toEqual(['compare', png(12), pdfDocument('kept'), NOTES, png(12)]);
    });

    it('prunes what only sessions ended before the cutoff used, unused old uploads, and orphan bytes', async () => {
      const cutoff = '2030-01-01T00:00:00.000Z';
      const sessions = new SessionStore(suite.connection);
      for (const [id, state, updatedAt] of [
        ['ended', 'terminated', '2029-06-01T00:00:00.000Z'],
        ['failed', 'failed', '2029-06-01T00:00:00.000Z'],
        ['ended-since', 'terminated', '2030-06-01T00:00:00.000Z'],
        ['live', 'idle', '2029-01-01T00:00:00.000Z'],
      ] as const) {
        await sessions.insertSession(sessionRecord(id, { state, updatedAt }));
      }
      // Uploaded now, before the cutoff.
      const upload = (seed: number) => attachments.upload(png(seed), 'alice');
      const [ended, failed, endedAndLive, endedSince, live, unused, sameBytesEnded, sameBytesLive] =
        await Promise.all([20, 21, 22, 23, 24, 25, 26, 26].map(upload));
      const use = (sessionId: string, ...used: AttachmentResource[]) =>
        attachments.link(sessionId, [TEXT, ...used.map(refOf)]);
      await use('ended', ended, endedAndLive, sameBytesEnded);
      await use('ended', ended);
      await use('failed', failed);
      await use('live', endedAndLive, live, sameBytesLive);
      await use('ended-since', endedSince);
      const newer = { id: 'newer-upload', owner: 'alice', mediaType: 'image/png' as const };
      const createdAt = '2030-02-01T00:00:00.000Z';
      await store.insert(
        { ...newer, size: png(27).length, sha256: sha256(png(27)), createdAt },
        png(27),
      );

      expect(await attachments.prune(cutoff)).toBe(4);
      const readable = (list: Array<{ id: string }>) =>
        Promise.all(list.map(async (a) => (await refusal(attachments.read(a.id))) === 'accepted'));
      expect(await readable([ended, failed, unused, sameBytesEnded])).toEqual(Array(4).fill(false));
      const kept = [endedAndLive, endedSince, live, sameBytesLive, newer];
      expect(await readable(kept)).toEqual(Array(5).fill(true));
      // Bytes go with their last attachment: seeds 20, 21 and 25.
      expect(await rows('attachment_blobs')).toBe(5);
      expect(await attachments.prune(cutoff)).toBe(0);
      expect(await rows('attachments')).toBe(5);
    });
  });
});
