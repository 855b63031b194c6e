import { AgentInput, inputText, isTextMediaType } from '@jelmore/contracts';

/** A part of `POST /session/:id/prompt_async` (opencode 1.18's TextPartInput and FilePartInput). */
export type OpencodePartInput =
  { type: 'text'; text: string } | { type: 'file'; mime: string; url: string; filename: string };

/**
 * One turn's input as opencode prompt parts, in order: text as text parts, text documents inline with
 * their name (as every text-only agent gets them), images and PDFs as file parts holding a data URL.
 * opencode hands a data URL to the model as it is (OpenAI-compatible: `image_url` and `file` parts) for
 * models whose config lists those input modalities (opencode-config.ts).
 */
export function opencodeParts(input: AgentInput): OpencodePartInput[] {
  return input.map((block): OpencodePartInput => {
    if (block.type === 'text') return { type: 'text', text: block.text };
    if (isTextMediaType(block.mediaType)) return { type: 'text', text: inputText([block]) };
    return {
      type: 'file',
      mime: block.mediaType,
      url: `data:${block.mediaType};base64,${block.bytes.toString('base64')}`,
      filename: block.name ?? block.attachmentId,
    };
  });
}
