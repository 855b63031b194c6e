import {
  isImageMediaType,
  type AttachmentResource,
  type DocumentBlock,
  type ImageBlock,
} from '@jelmore/contracts';
import type { UploadedAttachment } from './client.types';

/** An image block for an uploaded attachment (`uploadAttachment`). */
export function imageBlock(attachment: Pick<AttachmentResource, 'id'>): ImageBlock {
  return { type: 'image', attachmentId: attachment.id };
}

/** A document block for an uploaded attachment; `name` (default: the upload's) is shown to the model. */
export function documentBlock(
  attachment: Pick<UploadedAttachment, 'id' | 'name'>,
  name = attachment.name,
): DocumentBlock {
  return { type: 'document', attachmentId: attachment.id, ...(name ? { name } : {}) };
}

/** The block for an upload of either kind, by the media type the server found. */
export function attachmentBlock(attachment: UploadedAttachment): ImageBlock | DocumentBlock {
  return isImage(attachment) ? imageBlock(attachment) : documentBlock(attachment);
}

export function isImage(attachment: Pick<AttachmentResource, 'mediaType'>): boolean {
  return isImageMediaType(attachment.mediaType);
}
