import type { ContentBlock, PromptCapabilities } from '@agentclientprotocol/sdk';
import { AgentAttachment, AgentInput, inputText, isTextMediaType } from '@jelmore/contracts';

/** How an agent wants the blocks it takes, where it differs from what ACP lets Jelmore assume. */
export interface AcpPromptStyle {
  /**
   * Images as embedded `resource` blobs, not `image` blocks: Gemini CLI 0.61 drops every image block of
   * a prompt that also holds a resource, and passes a resource blob on as the image itself.
   */
  imagesAsResources?: boolean;
}

/** A turn holds an attachment the agent did not announce it takes (in `initialize`). */
export class AcpPromptRefusal extends Error {}

/**
 * One turn's input as `session/prompt` blocks, in order: text as text, images as `image` blocks, PDFs
 * as embedded `resource` blobs, text documents as embedded text (or inline text where the agent takes
 * no embedded context). Throws AcpPromptRefusal for an attachment the agent did not announce
 * (`promptCapabilities`), so nothing it cannot read is sent.
 */
export function acpPrompt(
  input: AgentInput,
  accepts: PromptCapabilities | undefined,
  style: AcpPromptStyle = {},
): ContentBlock[] {
  return input.map((block): ContentBlock => {
    if (block.type === 'text') return { type: 'text', text: block.text };
    const uri = attachmentUri(block);
    const embedded = accepts?.embeddedContext === true;
    if (isTextMediaType(block.mediaType)) {
      if (!embedded) return { type: 'text', text: inputText([block]) };
      const text = block.bytes.toString('utf8');
      return { type: 'resource', resource: { uri, mimeType: block.mediaType, text } };
    }
    const data = block.bytes.toString('base64');
    if (block.type === 'image' && !style.imagesAsResources) {
      if (!accepts?.image) throw refusal(block, 'promptCapabilities.image');
      return { type: 'image', mimeType: block.mediaType, data, uri };
    }
    if (!embedded) throw refusal(block, 'promptCapabilities.embeddedContext');
    return { type: 'resource', resource: { uri, mimeType: block.mediaType, blob: data } };
  });
}

/** Names an attachment to the agent by its content and file name (no agent can fetch it). */
export function attachmentUri(block: AgentAttachment): string {
  return `attachment://${block.sha256}/${encodeURIComponent(block.name ?? block.attachmentId)}`;
}

function refusal(block: AgentAttachment, capability: string): AcpPromptRefusal {
  const what = block.type === 'image' ? 'images' : `${block.mediaType} documents`;
  return new AcpPromptRefusal(
    `the agent takes no ${what}: it did not announce ${capability} in initialize`,
  );
}
