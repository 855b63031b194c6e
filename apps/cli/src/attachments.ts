import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { InvalidArgumentError } from 'commander';
import type { ContentBlock, TurnContent } from '@jelmore/contracts';
import { documentBlock, imageBlock, isImage, type JelmoreClient } from '@jelmore/client';

/** The `--image` and `--file` paths of a command, in the order given. */
export interface AttachmentPaths {
  image: string[];
  file: string[];
}

/**
 * Commander's parser for a repeatable file option: a path that is not a file fails the command with
 * commander's usage error, before anything is uploaded or sent.
 */
export function collectFile(path: string, previous: string[] = []): string[] {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new InvalidArgumentError(`no such file: ${path}`);
  }
  if (!isFile) throw new InvalidArgumentError(`not a file: ${path}`);
  return [...previous, path];
}

/**
 * The turn's content: the text alone when nothing is attached (as before), else blocks `[text,
 * images..., documents...]`, each file uploaded first (the server finds its type from the bytes).
 */
export async function turnContent(
  client: JelmoreClient,
  text: string,
  paths: AttachmentPaths,
): Promise<TurnContent> {
  if (!paths.image.length && !paths.file.length) return text;
  // Every file is read before the first upload, so an unreadable one stops the command with nothing sent.
  const read = (path: string) => ({ path, bytes: readFileSync(path) });
  const images = paths.image.map(read);
  const files = paths.file.map(read);
  const blocks: ContentBlock[] = text ? [{ type: 'text', text }] : [];
  for (const { path, bytes } of images) {
    const upload = await client.uploadAttachment(bytes, { name: basename(path) });
    if (!isImage(upload)) {
      throw new Error(`${path} is ${upload.mediaType}, not an image: give it with --file`);
    }
    blocks.push(imageBlock(upload));
  }
  for (const { path, bytes } of files) {
    const upload = await client.uploadAttachment(bytes, { name: basename(path) });
    // An image given with --file still reaches the model as an image.
    blocks.push(isImage(upload) ? imageBlock(upload) : documentBlock(upload));
  }
  return blocks;
}
