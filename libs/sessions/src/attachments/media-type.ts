import {
  ATTACHMENT_MEDIA_TYPES,
  AttachmentMediaType,
  ErrorCode,
  isAttachmentMediaType,
  isTextMediaType,
  JelmoreError,
  mediaTypeEssence,
} from '@jelmore/contracts';

/**
 * The binary types we take, by their magic numbers. Five fixed signatures: a detection library
 * (file-type) is ESM-only, which this CommonJS build cannot require.
 */
const SIGNATURES: ReadonlyArray<{ type: AttachmentMediaType; test: (b: Buffer) => boolean }> = [
  { type: 'image/png', test: (b) => starts(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { type: 'image/jpeg', test: (b) => starts(b, [0xff, 0xd8, 0xff]) },
  { type: 'image/gif', test: (b) => /^GIF8[79]a/.test(b.subarray(0, 6).toString('latin1')) },
  {
    type: 'image/webp',
    test: (b) =>
      b.subarray(0, 4).toString('latin1') === 'RIFF' &&
      b.subarray(8, 12).toString('latin1') === 'WEBP',
  },
  { type: 'application/pdf', test: (b) => b.subarray(0, 5).toString('latin1') === '%PDF-' },
];

function starts(bytes: Buffer, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 with no control characters but tab, line feed, form feed and carriage return. */
function isText(bytes: Buffer): boolean {
  try {
    // eslint-disable-next-line no-control-regex
    return !/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(utf8.decode(bytes));
  } catch {
    return false;
  }
}

/** What the bytes are, by their content alone: one of our binary types, text, or unknown. */
export function sniff(bytes: Buffer): AttachmentMediaType | 'text' | undefined {
  const binary = SIGNATURES.find((signature) => signature.test(bytes));
  if (binary) return binary.type;
  return isText(bytes) ? 'text' : undefined;
}

/**
 * The media type of `bytes`, from their content: a declared type (a block's, or an upload's header)
 * only says which kind of text a text file is, and must agree with the bytes otherwise.
 */
export function mediaTypeOf(bytes: Buffer, declared?: string): AttachmentMediaType {
  const declaredType = (declared && mediaTypeEssence(declared)) || undefined;
  const found = sniff(bytes);
  if (found === undefined) {
    throw new JelmoreError(
      ErrorCode.MediaTypeUnsupported,
      `The bytes are of no type an attachment may have (${ATTACHMENT_MEDIA_TYPES.join(', ')})`,
      declaredType ? { declared: declaredType } : undefined,
    );
  }
  if (found === 'text') {
    if (!declaredType || !isTextMediaType(declaredType)) {
      if (declaredType && isAttachmentMediaType(declaredType)) throw mismatch(declaredType, 'text');
      return 'text/plain';
    }
    return declaredType as AttachmentMediaType;
  }
  if (declaredType && declaredType !== found) throw mismatch(declaredType, found);
  return found;
}

function mismatch(declared: string, found: string): JelmoreError {
  return new JelmoreError(
    ErrorCode.MediaTypeMismatch,
    `The bytes are ${found}, not the declared ${declared}`,
    { declared, detected: found },
  );
}
