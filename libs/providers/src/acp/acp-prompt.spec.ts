import type { AgentInput } from '@jelmore/contracts';
import { acpPrompt, AcpPromptRefusal } from './acp-prompt';
import { agentAttachment } from '../../../../test/support/media';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
const PDF = Buffer.from('%PDF-1.4\nfake body\n%%EOF\n', 'latin1');
const image = agentAttachment('image', 'image/png', PNG);
const pdf = agentAttachment('document', 'application/pdf', PDF, 'spec sheet.pdf');
const notes = agentAttachment(
  'document',
  'text/markdown',
  Buffer.from('# Notes\nbuy kiwi'),
  'notes.md',
);
const ALL = { image: true, embeddedContext: true };

describe('acpPrompt', () => {
  it('keeps the order: text as text, images as image blocks, PDFs as resource blobs', () => {
    const input: AgentInput = [
      { type: 'text', text: 'look' },
      image,
      pdf,
      { type: 'text', text: 'then this' },
    ];
    expect(acpPrompt(input, ALL)).toEqual([
      { type: 'text', text: 'look' },
      {
        type: 'image',
        mimeType: 'image/png',
        data: PNG.toString('base64'),
        uri: `attachment://${image.sha256}/${image.attachmentId}`,
      },
      {
        type: 'resource',
        resource: {
          uri: `attachment://${pdf.sha256}/spec%20sheet.pdf`,
          mimeType: 'application/pdf',
          blob: PDF.toString('base64'),
        },
      },
      { type: 'text', text: 'then this' },
    ]);
  });

  it('embeds text documents as text where the agent takes embedded context, else inlines them', () => {
    expect(acpPrompt([notes], ALL)).toEqual([
      {
        type: 'resource',
        resource: {
          uri: `attachment://${notes.sha256}/notes.md`,
          mimeType: 'text/markdown',
          text: '# Notes\nbuy kiwi',
        },
      },
    ]);
    expect(acpPrompt([notes], { image: true })).toEqual([
      { type: 'text', text: '<document name="notes.md">\n# Notes\nbuy kiwi\n</document>' },
    ]);
  });

  it('sends images as resource blobs for an agent that wants them so', () => {
    const [block] = acpPrompt([image], { embeddedContext: true }, { imagesAsResources: true });
    expect(block).toEqual({
      type: 'resource',
      resource: {
        uri: `attachment://${image.sha256}/${image.attachmentId}`,
        mimeType: 'image/png',
        blob: PNG.toString('base64'),
      },
    });
  });

  it('refuses what the agent did not announce, naming the capability', () => {
    const refused = (input: AgentInput, accepts: object | undefined, imagesAsResources = false) => {
      try {
        acpPrompt(input, accepts, { imagesAsResources });
      } catch (err) {
        expect(err).toBeInstanceOf(AcpPromptRefusal);
        return (err as Error).message;
      }
      throw new Error('acpPrompt sent it');
    };
    expect(refused([image], { embeddedContext: true })).toBe(
      'the agent takes no images: it did not announce promptCapabilities.image in initialize',
    );
    expect(refused([pdf], { image: true })).toBe(
      'the agent takes no application/pdf documents: it did not announce promptCapabilities.embeddedContext in initialize',
    );
    expect(refused([image], { image: true }, true)).toContain('promptCapabilities.embeddedContext');
    expect(refused([image], undefined)).toContain('promptCapabilities.image');
    // Text alone needs nothing announced.
    expect(acpPrompt([{ type: 'text', text: 'hi' }], undefined)).toEqual([
      { type: 'text', text: 'hi' },
    ]);
  });
});
