import { opencodeParts } from './opencode-parts';
import { agentAttachment } from '../../../../test/support/media';

describe('opencodeParts', () => {
  it('keeps the order: text parts, file parts with data URLs, text documents inline', () => {
    const png = agentAttachment(
      'image',
      'image/png',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255]),
    );
    const pdf = agentAttachment(
      'document',
      'application/pdf',
      Buffer.from('%PDF-1.4\n'),
      'spec.pdf',
    );
    const notes = agentAttachment('document', 'text/markdown', Buffer.from('# Notes'), 'notes.md');
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
