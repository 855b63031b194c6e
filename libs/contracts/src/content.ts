/** Images a turn may carry; the bytes must be of the type (their magic numbers are checked). */
export const IMAGE_MEDIA_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type ImageMediaType = (typeof IMAGE_MEDIA_TYPES)[number];

/** Documents a turn may carry: PDF (its bytes checked), and UTF-8 text. */
export const TEXT_DOCUMENT_MEDIA_TYPES = [
  'text/plain',
  'text/markdown',
  'text/csv',
  'application/json',
] as const;
export const DOCUMENT_MEDIA_TYPES = ['application/pdf', ...TEXT_DOCUMENT_MEDIA_TYPES] as const;
export type DocumentMediaType = (typeof DOCUMENT_MEDIA_TYPES)[number];

export type AttachmentMediaType = ImageMediaType | DocumentMediaType;
export const ATTACHMENT_MEDIA_TYPES: readonly AttachmentMediaType[] = [
  ...IMAGE_MEDIA_TYPES,
  ...DOCUMENT_MEDIA_TYPES,
];

export interface TextBlock {
  type: 'text';
  text: string;
}

/** Its bytes, base64 in `data`, or an uploaded attachment's id (`POST /v1/attachments`). */
export type BlockSource =
  { data: string; attachmentId?: never } | { attachmentId: string; data?: never };

export type ImageBlock = { type: 'image'; mediaType?: ImageMediaType } & BlockSource;
export type DocumentBlock = {
  type: 'document';
  mediaType?: DocumentMediaType;
  /** A file name shown to the model. */
  name?: string;
} & BlockSource;

/** One piece of a query or input, as clients send it. */
export type ContentBlock = TextBlock | ImageBlock | DocumentBlock;

/** A query or an input: text, or content blocks (text, images, documents) in the order the model reads them. */
export type TurnContent = string | ContentBlock[];

/** An image or document kept by the server, as the `user` event and the attachments API name it. */
export interface AttachmentRef {
  type: 'image' | 'document';
  attachmentId: string;
  mediaType: AttachmentMediaType;
  size: number;
  sha256: string;
  name?: string;
}

/** A turn's input once the server took it: text, and attachments by reference (never their bytes). */
export type TurnBlock = TextBlock | AttachmentRef;

/** `POST /v1/attachments`' answer and `GET /v1/attachments/:id/meta`'s. */
export interface AttachmentResource {
  id: string;
  mediaType: AttachmentMediaType;
  size: number;
  sha256: string;
  createdAt: string;
}

/** An attachment as an agent gets it: its reference and its bytes. */
export type AgentAttachment = AttachmentRef & { bytes: Buffer };

/** What an agent is given for one turn: text and attachments, in order. */
export type AgentInput = ReadonlyArray<TextBlock | AgentAttachment>;

export function isTextMediaType(mediaType: string): boolean {
  return (TEXT_DOCUMENT_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

export function isImageMediaType(mediaType: string): boolean {
  return (IMAGE_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

export function isAttachmentMediaType(mediaType: string): mediaType is AttachmentMediaType {
  return (ATTACHMENT_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

/** A media type as compared: without its parameters (`; charset=…`), in lower case. */
export function mediaTypeEssence(mediaType: string): string {
  return mediaType.split(';')[0].trim().toLowerCase();
}

/** The input as one string, for text-only callers: text documents inline (with their name), others by name. */
export function inputText(input: AgentInput): string {
  return input
    .map((block) => {
      if (block.type === 'text') return block.text;
      if (isTextMediaType(block.mediaType)) {
        const name = block.name ? ` name="${block.name}"` : '';
        return `<document${name}>\n${block.bytes.toString('utf8')}\n</document>`;
      }
      return `[${block.type} ${block.name ?? block.attachmentId}]`;
    })
    .join('\n\n');
}

/** A text-only input (what tests and internal callers send). */
export function textInput(text: string): AgentInput {
  return [{ type: 'text', text }];
}
