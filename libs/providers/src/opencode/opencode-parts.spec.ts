import { createHash } from 'node:crypto';
import type { AgentAttachment } from '@jelmore/contracts';
import { opencodeParts } from './opencode-parts';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

function attachment(
  type: AgentAttachment['type'],
  mediaType: AgentAttachment['mediaType'],
  bytes: Buffer,
  name?: string,
): AgentAttachment {
  return {
    type,
    attachmentId: `att-${sha256(bytes).slice(0, 8)}`,
    mediaType,
    size: bytes.length,
    sha256: sha256(bytes),
    bytes,
    ...(name ? { name } : {}),
  };
}

describe('opencodeParts', () => {
  it('keeps the order: text parts, file parts with data URLs, text documents inline', () => {
    const png = attachment('image', 'image/png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]));
    const pdf = attachment('document', 'application/pdf', Buffer.from('%PDF-1.4\n'), 'spec.pdf');
    const notes = attachment('document', 'text/markdown', Buffer.from('# Notes'), 'notes.md');
    expect(
      opencodeParts([
        { type: 'text', text: 'compare' },
        png,
        pdf,
        notes,
        { type: 'text', text: '?' },
      ]),
    ).toEqual([
      { type: 'text', text: 'compare' },
      {
        type: 'file',
        mime: 'image/png',
        url: `data:image/png;base64,${png.bytes.toString('base64')}`,
        filename: png.attachmentId,
      },
      {
        type: 'file',
        mime: 'application/pdf',
        url: `data:application/pdf;base64,${pdf.bytes.toString('base64')}`,
        filename: 'spec.pdf',
      },
      { type: 'text', text: '<document name="notes.md">\n# Notes\n</document>' },
      { type: 'text', text: '?' },
    ]);
  });
});
