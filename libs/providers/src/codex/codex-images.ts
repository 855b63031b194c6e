import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AgentAttachment,
  AgentInput,
  ErrorCode,
  inputText,
  isTextMediaType,
  SessionError,
} from '@jelmore/contracts';

const EXTENSIONS: Partial<Record<string, string>> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
};

/**
 * A turn's prompt for `codex exec` (on stdin): its text and text documents, each image replaced by the
 * name Codex gives it (`[Image #n]`, in the order of the `--image` flags), so the model still reads
 * where it stood. Codex has no document input in exec mode: a PDF here is refused, never dropped.
 */
export function codexPrompt(input: AgentInput, sessionId: string): string {
  let images = 0;
  const blocks = input.map((block) => {
    if (block.type === 'image') return { type: 'text' as const, text: `[Image #${++images}]` };
    if (block.type === 'document' && !isTextMediaType(block.mediaType)) {
      throw new SessionError(
        `codex cannot read ${block.mediaType} documents; only images and text documents reach it`,
        'codex',
        sessionId,
        ErrorCode.MultimodalUnsupported,
      );
    }
    return block;
  });
  return inputText(blocks);
}

/**
 * Writes the turn's images into `dir` as `<sha256>.<ext>`, for `--image=<path>` (Codex reads them at
 * start and keeps them in its thread, so a later turn needs none of the files). Returns their paths in
 * input order, repeats included.
 */
export function writeTurnImages(dir: string, input: AgentInput): string[] {
  const images = input.filter((block): block is AgentAttachment => block.type === 'image');
  if (images.length === 0) return [];
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return images.map((image) => {
    const extension = EXTENSIONS[image.mediaType];
    if (!extension) throw new Error(`not an image type codex reads: ${image.mediaType}`);
    // Hashed here, not taken from the reference: the name is then always the content's and a plain name.
    const sha256 = createHash('sha256').update(image.bytes).digest('hex');
    const path = join(dir, `${sha256}.${extension}`);
    writeFileSync(path, image.bytes, { mode: 0o600 });
    return path;
  });
}

/** Removes what a turn or session wrote; never throws (a leftover is harmless, a failed exit handler is not). */
export function removeQuietly(paths: readonly string[]): void {
  for (const path of new Set(paths)) {
    try {
      rmSync(path, { recursive: true, force: true });
    } catch {
      // Left for the tenant's home to hold; nothing reads it again.
    }
  }
}
