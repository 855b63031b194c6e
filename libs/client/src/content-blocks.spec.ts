import type { AttachmentMediaType } from '@jelmore/contracts';
import { attachmentBlock, documentBlock, imageBlock } from './content-blocks';

const upload = (mediaType: AttachmentMediaType, name?: string) => ({
  id: `att-${mediaType}`,
  mediaType,
  size: 1,
  sha256: 'x',
  createdAt: '2025-01-01T00:00:00Z',
  ...(name ? { name } : {}),
});

describe('content blocks from uploads', () => {
  it('references the upload by id, naming documents by the upload or the given name', () => {
    expect(imageBlock({ id: 'a1' })).toEqual({ type: 'image', attachmentId: 'a1' });
    expect(documentBlock({ id: 'a2' })).toEqual({ type: 'document', attachmentId: 'a2' });
    expect(documentBlock({ id: 'a3', name: 'up.pdf' })).toEqual({
      type: 'document',
      attachmentId: 'a3',
      name: 'up.pdf',
    });
    expect(documentBlock({ id: 'a3', name: 'up.pdf' }, 'other.pdf')).toMatchObject({
      name: 'other.pdf',
    });
  });

  it('picks image or document by the media type the server found', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const) {
      expect(attachmentBlock(upload(type, 'x'))).toEqual({
        type: 'image',
        attachmentId: `att-${type}`,
      });
    }
    for (const type of ['application/pdf', 'text/plain', 'application/json'] as const) {
      expect(attachmentBlock(upload(type, 'f.txt'))).toEqual({
        type: 'document',
        attachmentId: `att-${type}`,
        name: 'f.txt',
      });
    }
  });
});
