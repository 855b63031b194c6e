import { ErrorCode } from '@jelmore/contracts';
import { ELF_BYTES, pdfDocument, pngImage } from '../../../../test/support/media';
import { mediaTypeOf, sniff } from './media-type';

/** The start of a JFIF file, as a camera or an editor writes it. */
const JPEG = Buffer.from([
  0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
  0x00, 0x01, 0x00, 0x00, 0xff, 0xd9,
]);
/** A complete 1×1 transparent GIF. */
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
/** A complete 1×1 lossless WebP. */
const WEBP = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
/** A Windows executable's DOS header. */
const EXE = Buffer.concat([Buffer.from([0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00]), Buffer.alloc(58)]);
/** A ZIP holding one stored file `a.txt` (local header, data, central directory, end record). */
const ZIP = Buffer.from(
  'UEsDBBQAAAAAAAAAISisKpPYAgAAAAIAAAAFAAAAYS50eHRoaVBLAQIUAxQAAAAAAAAAISisKpPYAgAAAAIAAAAFAAAAAAAA' +
    'AAAAAACAAQAAAABhLnR4dFBLBQYAAAAAAQABADMAAAAlAAAAAAA=',
  'base64',
);
const MARKDOWN = Buffer.from('# Notes — ünïcode\n\n- one\r\n- two\tand a tab\f\n', 'utf8');

function errorOf(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('sniff', () => {
  it.each([
    ['image/png', pngImage(1)],
    ['image/jpeg', JPEG],
    ['image/gif', GIF],
    ['image/webp', WEBP],
    ['application/pdf', pdfDocument('sniffed')],
  ])('tells %s by its magic number', (type, bytes) => {
    expect(sniff(bytes)).toBe(type);
  });

  it('calls UTF-8 text with tabs, line ends and form feeds text', () => {
    expect(sniff(MARKDOWN)).toBe('text');
    expect(sniff(Buffer.from('{"a": [1, 2]}'))).toBe('text');
  });

  it.each([
    ['ELF', ELF_BYTES],
    ['EXE', EXE],
    ['ZIP', ZIP],
    ['invalid UTF-8', Buffer.from([0x68, 0x69, 0xc3, 0x28])],
    ['a lone continuation byte', Buffer.from([0x61, 0x80, 0x62])],
    ['a NUL byte', Buffer.from('text\u0000more')],
    ['an escape sequence', Buffer.from('\u001b[31mred\u001b[0m')],
    ['DEL', Buffer.from('a\u007fb')],
    ['UTF-16', Buffer.from('\ufeffhello', 'utf16le')],
    ['a truncated PNG signature', pngImage(1).subarray(0, 4)],
  ])('knows no type for %s', (_what, bytes) => {
    expect(sniff(bytes)).toBeUndefined();
  });

  it('needs the WEBP tag after RIFF: a WAV file is no image', () => {
    const wav = Buffer.concat([WEBP.subarray(0, 8), Buffer.from('WAVEfmt '), Buffer.alloc(16)]);
    expect(sniff(wav)).toBeUndefined();
  });
});

describe('mediaTypeOf', () => {
  it('takes a binary type from the bytes, and a declared type that agrees with them', () => {
    expect(mediaTypeOf(pngImage(2))).toBe('image/png');
    expect(mediaTypeOf(pngImage(2), 'image/png')).toBe('image/png');
    expect(mediaTypeOf(JPEG, 'IMAGE/JPEG')).toBe('image/jpeg');
    expect(mediaTypeOf(pdfDocument(), 'application/pdf')).toBe('application/pdf');
  });

  it('calls undeclared text text/plain, and takes a declared kind of text', () => {
    expect(mediaTypeOf(MARKDOWN)).toBe('text/plain');
    expect(mediaTypeOf(MARKDOWN, 'text/markdown')).toBe('text/markdown');
    expect(mediaTypeOf(Buffer.from('a,b\n1,2\n'), 'text/csv')).toBe('text/csv');
    expect(mediaTypeOf(Buffer.from('{"a":1}'), 'application/json')).toBe('application/json');
  });

  it('reads the declared type without its parameters, in any case', () => {
    expect(mediaTypeOf(MARKDOWN, 'text/markdown; charset=utf-8')).toBe('text/markdown');
    expect(mediaTypeOf(MARKDOWN, ' Text/CSV ;charset=UTF-8')).toBe('text/csv');
    expect(mediaTypeOf(pngImage(3), 'image/png; q=1')).toBe('image/png');
  });

  it('calls text declared as a type we do not take (html, octet-stream) text/plain', () => {
    expect(mediaTypeOf(Buffer.from('<p>hi</p>'), 'text/html; charset=utf-8')).toBe('text/plain');
    expect(mediaTypeOf(MARKDOWN, 'application/octet-stream')).toBe('text/plain');
    expect(mediaTypeOf(MARKDOWN, '')).toBe('text/plain');
  });

  it('refuses text declared as an image or a PDF with MEDIA_TYPE_MISMATCH', () => {
    expect(errorOf(() => mediaTypeOf(MARKDOWN, 'image/png'))).toMatchObject({
      code: ErrorCode.MediaTypeMismatch,
      details: { declared: 'image/png', detected: 'text' },
    });
    expect(errorOf(() => mediaTypeOf(MARKDOWN, 'application/pdf; x=y'))).toMatchObject({
      code: ErrorCode.MediaTypeMismatch,
      details: { declared: 'application/pdf', detected: 'text' },
    });
  });

  it('refuses bytes of one type declared as another with MEDIA_TYPE_MISMATCH', () => {
    expect(errorOf(() => mediaTypeOf(pngImage(4), 'image/jpeg'))).toMatchObject({
      code: ErrorCode.MediaTypeMismatch,
      message: 'The bytes are image/png, not the declared image/jpeg',
      details: { declared: 'image/jpeg', detected: 'image/png' },
    });
    expect(errorOf(() => mediaTypeOf(pdfDocument(), 'text/plain'))).toMatchObject({
      code: ErrorCode.MediaTypeMismatch,
      details: { declared: 'text/plain', detected: 'application/pdf' },
    });
  });

  it.each([
    ['ELF', ELF_BYTES, 'image/png'],
    ['EXE', EXE, 'application/pdf'],
    ['ZIP', ZIP, 'application/zip'],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x00]), 'text/plain'],
    ['control bytes', Buffer.from('bell\u0007'), 'text/markdown'],
  ])('refuses %s with MEDIA_TYPE_UNSUPPORTED, whatever it is declared as', (_what, bytes, type) => {
    expect(errorOf(() => mediaTypeOf(bytes))).toMatchObject({
      code: ErrorCode.MediaTypeUnsupported,
    });
    expect(errorOf(() => mediaTypeOf(bytes, `${type}; charset=utf-8`))).toMatchObject({
      code: ErrorCode.MediaTypeUnsupported,
      details: { declared: type },
    });
  });
});
