import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import {
  AgentInput,
  ATTACHMENT_MEDIA_TYPES,
  AttachmentMediaType,
  AttachmentRef,
  AttachmentResource,
  ErrorCode,
  isAttachmentMediaType,
  isImageMediaType,
  isTextMediaType,
  JelmoreError,
  mediaTypeEssence,
  NotFoundError,
  TurnBlock,
  TurnContent,
  ValidationError,
  type ContentBlock,
} from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { SessionActor } from '../sessions.types';
import { AttachmentRecord, AttachmentStore } from './attachment-store';
import { mediaTypeOf } from './media-type';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A block checked but not yet kept: its bytes (inline data) or the attachment it names. */
type CheckedBlock =
  | { type: 'text'; text: string }
  | { type: 'image' | 'document'; name?: string; bytes: Buffer; mediaType: AttachmentMediaType }
  | { type: 'image' | 'document'; name?: string; record: AttachmentRecord };

/** What a turn's images and PDFs ask of a provider (ProviderCapabilities). */
export type ContentCapability = 'multimodal' | 'documents';

/** A turn's content, checked (see Attachments.check). */
export interface CheckedTurn {
  readonly blocks: readonly CheckedBlock[];
  readonly needs: readonly ContentCapability[];
}

function mediaTypeOfChecked(block: Exclude<CheckedBlock, { type: 'text' }>): AttachmentMediaType {
  return 'record' in block ? block.record.mediaType : block.mediaType;
}

/**
 * Images and documents: uploads, and the blocks of a turn. Every check (shape, base64, type by the
 * bytes, sizes, whose attachment) runs before anything is kept, so a refused turn stores nothing.
 */
@Injectable()
export class Attachments {
  constructor(
    private readonly store: AttachmentStore,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  /** Keeps an upload; its media type is taken from the bytes (`declared` only tells text kinds apart). */
  async upload(
    bytes: Buffer,
    owner: string | null,
    declared?: string,
  ): Promise<AttachmentResource> {
    if (bytes.length === 0) throw new ValidationError('The attachment is empty');
    this.checkSize(bytes.length, this.options.maxAttachmentBytes, 'file');
    const { id, mediaType, size, sha256, createdAt } = await this.keepBytes(
      bytes,
      // The header's type counts only among kinds of text: the bytes say what they are.
      mediaTypeOf(
        bytes,
        declared && isTextMediaType(mediaTypeEssence(declared)) ? declared : undefined,
      ),
      owner,
    );
    return { id, mediaType, size, sha256, createdAt };
  }

  /** An attachment the actor may read, with its bytes; ATTACHMENT_NOT_FOUND for any other. */
  async read(
    id: string,
    actor?: SessionActor,
  ): Promise<{ resource: AttachmentResource; bytes: Buffer }> {
    const [record] = await this.owned([id], actor);
    const bytes = (await this.store.bytes([record.sha256])).get(record.sha256);
    if (!bytes) throw notFound(id);
    const { owner: _owner, ...resource } = record;
    return { resource, bytes };
  }

  /**
   * Checks a turn's content (blocks, base64, types by the bytes, sizes, whose attachments): what the
   * turn needs of a provider, and what `keep` then stores. Throws, having stored nothing, on a bad block.
   */
  async check(content: TurnContent, actor?: SessionActor): Promise<CheckedTurn> {
    if (typeof content === 'string')
      return { blocks: [{ type: 'text', text: content }], needs: [] };
    const blocks = await this.checkBlocks(content, actor);
    const needs = new Set<ContentCapability>();
    for (const block of blocks) {
      if (block.type === 'image') needs.add('multimodal');
      else if (block.type === 'document' && !isTextMediaType(mediaTypeOfChecked(block))) {
        needs.add('documents');
      }
    }
    return { blocks, needs: [...needs] };
  }

  /** The checked turn as the session keeps it: text, and attachments of `owner` (inline data becomes one). */
  async keep(turn: CheckedTurn, owner: string | null): Promise<TurnBlock[]> {
    const blocks: TurnBlock[] = [];
    for (const block of turn.blocks) {
      if (block.type === 'text') blocks.push(block);
      else if ('record' in block) blocks.push(ref(block.type, block.record, block.name));
      else {
        const record = await this.keepBytes(block.bytes, block.mediaType, owner);
        blocks.push(ref(block.type, record, block.name));
      }
    }
    return blocks;
  }

  /** The turn with its attachments' bytes, for the agent. */
  async load(blocks: readonly TurnBlock[]): Promise<AgentInput> {
    const bytes = await this.store.bytes(
      blocks.flatMap((block) => (block.type === 'text' ? [] : [block.sha256])),
    );
    return blocks.map((block) => {
      if (block.type === 'text') return block;
      const data = bytes.get(block.sha256);
      if (!data) throw notFound(block.attachmentId);
      return { ...block, bytes: data };
    });
  }

  /** The session used these attachments: they are kept while its events are. */
  async link(sessionId: string, blocks: readonly TurnBlock[]): Promise<void> {
    await this.store.link(
      sessionId,
      blocks.flatMap((block) => (block.type === 'text' ? [] : [block.attachmentId])),
    );
  }

  /** Deletes attachments only sessions that ended before `cutoff` used, and unused uploads older. */
  prune(cutoff: string): Promise<number> {
    return this.store.prune(cutoff);
  }

  private async checkBlocks(
    content: readonly ContentBlock[],
    actor?: SessionActor,
  ): Promise<CheckedBlock[]> {
    if (content.length === 0) throw new ValidationError('The content has no blocks');
    if (content.length > this.options.maxContentBlocks) {
      throw new ValidationError(
        `The content has ${content.length} blocks; at most ${this.options.maxContentBlocks} are taken`,
        { limit: this.options.maxContentBlocks },
      );
    }
    const named = content.flatMap((block) =>
      block.type !== 'text' && block.attachmentId ? [block.attachmentId] : [],
    );
    const records = new Map((await this.owned(named, actor)).map((r) => [r.id, r]));
    let total = 0;
    const checked = content.map((block, index): CheckedBlock => {
      if (block.type === 'text') return { type: 'text', text: block.text };
      const at = { block: index };
      const declared = block.mediaType;
      if (declared !== undefined && !isAttachmentMediaType(declared)) {
        throw new JelmoreError(
          ErrorCode.MediaTypeUnsupported,
          `Block ${index}: media type '${String(declared).slice(0, 64)}' is not taken (${ATTACHMENT_MEDIA_TYPES.join(', ')})`,
          at,
        );
      }
      const name = block.type === 'document' ? block.name : undefined;
      let mediaType: AttachmentMediaType;
      let result: CheckedBlock;
      if (block.attachmentId) {
        const record = records.get(block.attachmentId)!;
        mediaType = record.mediaType;
        if (declared && declared !== mediaType) {
          throw new JelmoreError(
            ErrorCode.MediaTypeMismatch,
            `Block ${index}: attachment ${record.id} is ${mediaType}, not ${declared}`,
            at,
          );
        }
        total += record.size;
        result = { type: block.type, name, record };
      } else {
        const bytes = decodeBase64(block.data ?? '', index);
        this.checkSize(bytes.length, this.options.maxAttachmentBytes, 'file', index);
        mediaType = mediaTypeOf(bytes, declared);
        total += bytes.length;
        result = { type: block.type, name, bytes, mediaType };
      }
      if (isImageMediaType(mediaType) !== (block.type === 'image')) {
        throw new JelmoreError(
          ErrorCode.MediaTypeMismatch,
          `Block ${index}: a${block.type === 'image' ? 'n image' : ' document'} block holds ${mediaType}`,
          at,
        );
      }
      return result;
    });
    this.checkSize(total, this.options.maxTurnAttachmentBytes, 'turn');
    return checked;
  }

  /** The attachments `ids` if the actor may use each (an admin: any; no actor: internal, any). */
  private async owned(ids: readonly string[], actor?: SessionActor): Promise<AttachmentRecord[]> {
    const records = new Map((await this.store.find(ids)).map((r) => [r.id, r]));
    return ids.map((id) => {
      const record = records.get(id);
      if (!record || (actor && !actor.admin && record.owner !== actor.id)) throw notFound(id);
      return record;
    });
  }

  private async keepBytes(
    bytes: Buffer,
    mediaType: AttachmentRecord['mediaType'],
    owner: string | null,
  ): Promise<AttachmentRecord> {
    const record: AttachmentRecord = {
      id: randomUUID(),
      owner,
      mediaType,
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      createdAt: new Date().toISOString(),
    };
    await this.store.insert(record, bytes);
    return record;
  }

  private checkSize(size: number, limit: number, scope: 'file' | 'turn', block?: number): void {
    if (size <= limit) return;
    const what = scope === 'file' ? 'The attachment' : "The turn's attachments";
    throw new JelmoreError(
      ErrorCode.AttachmentTooLarge,
      `${what} ${block === undefined ? '' : `(block ${block}) `}has ${size} bytes; the limit is ${limit}`,
      { scope, limitBytes: limit, size, ...(block === undefined ? {} : { block }) },
    );
  }
}

function ref(type: 'image' | 'document', record: AttachmentRecord, name?: string): AttachmentRef {
  return {
    type,
    attachmentId: record.id,
    mediaType: record.mediaType,
    size: record.size,
    sha256: record.sha256,
    ...(name ? { name } : {}),
  };
}

/** Strict base64 (padding optional): Buffer.from alone skips what it cannot read. */
function decodeBase64(data: string, block: number): Buffer {
  const compact = data.replace(/\s+/g, '');
  // The length rule holds without the padding: 'QUJDR=' would lose its R, '==' decode to nothing.
  const unpadded = compact.replace(/=+$/, '');
  if (!unpadded || !BASE64.test(compact) || unpadded.length % 4 === 1) {
    throw new JelmoreError(ErrorCode.InvalidBase64, `Block ${block}: data is not base64`, {
      block,
    });
  }
  return Buffer.from(compact, 'base64');
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(
    `No attachment '${String(id).slice(0, 64)}'`,
    ErrorCode.AttachmentNotFound,
  );
}
