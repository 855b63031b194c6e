import {
  AgentProviderPort,
  AttachmentRef,
  ErrorCode,
  JelmoreError,
  ProviderCapabilities,
  TurnBlock,
} from '@jelmore/contracts';
import type { ProviderRegistry } from '@jelmore/providers';
import type { Attachments } from '../attachments/attachments.service';
import type { EventLog } from '../events/event-log.service';
import type { SessionContext } from '../middleware/session-middleware.decorator';
import type { SessionMiddlewares } from '../middleware/session-middlewares.service';
import { assertTakes, SessionTurns, titleOf } from './session-turns.service';

const text = (value: string): TurnBlock => ({ type: 'text', text: value });
const attachment = (type: 'image' | 'document', extra: Partial<AttachmentRef> = {}): TurnBlock => ({
  type,
  attachmentId: '0b7c1d0e-3f55-4a8e-9f0e-2d4b8c6a1f00',
  mediaType: type === 'image' ? 'image/png' : 'application/pdf',
  size: 10,
  sha256: 'ab'.repeat(32),
  ...extra,
});

describe('titleOf', () => {
  it('is the first line that is not blank, trimmed', () => {
    expect(titleOf([text('\n  \n  Fix the flaky build  \nthen deploy')])).toBe(
      'Fix the flaky build',
    );
    expect(titleOf([attachment('image'), text('What is this?')])).toBe('What is this?');
    // A blank text block (clients send them) does not hide the text after it.
    expect(titleOf([text(' '), attachment('image'), text('\nDescribe it\n')])).toBe('Describe it');
  });

  it('keeps 80 characters, and cuts a longer line to 79 and an ellipsis', () => {
    const eighty = 'x'.repeat(80);
    expect(titleOf([text(eighty)])).toBe(eighty);
    const cut = titleOf([text(`${'y'.repeat(79)}z and more\nnext`)]);
    expect(cut).toBe(`${'y'.repeat(79)}…`);
    expect(cut).toHaveLength(80);
  });

  it('never cuts a character in half', () => {
    // 78 characters, then an emoji of two UTF-16 units across the cut.
    expect(titleOf([text(`${'a'.repeat(78)}😀${'b'.repeat(10)}`)])).toBe(`${'a'.repeat(78)}…`);
    expect(titleOf([text(`${'a'.repeat(77)}😀${'b'.repeat(10)}`)])).toBe(`${'a'.repeat(77)}😀…`);
  });

  it("names the first attachment when there is no text: '[image]' or the document's name", () => {
    expect(titleOf([attachment('image'), attachment('document', { name: 'r.pdf' })])).toBe(
      '[image]',
    );
    expect(titleOf([text('  \n'), attachment('document', { name: 'report.pdf' })])).toBe(
      '[report.pdf]',
    );
    expect(titleOf([attachment('document')])).toBe('[document]');
    expect(titleOf([])).toBe('');
  });
});

describe('assertTakes', () => {
  const provider = (multimodal: boolean, documents: boolean): AgentProviderPort =>
    ({
      name: 'p',
      capabilities: { multimodal, documents } as ProviderCapabilities,
    }) as AgentProviderPort;
  const refusal = (run: () => void): unknown => {
    try {
      run();
      return 'taken';
    } catch (err) {
      return err;
    }
  };

  it('takes a turn when the provider has every capability it needs', () => {
    expect(refusal(() => assertTakes(provider(false, false), []))).toBe('taken');
    expect(refusal(() => assertTakes(provider(true, false), ['multimodal']))).toBe('taken');
    expect(refusal(() => assertTakes(provider(false, true), ['documents']))).toBe('taken');
    expect(refusal(() => assertTakes(provider(true, true), ['multimodal', 'documents']))).toBe(
      'taken',
    );
  });

  it('refuses with MULTIMODAL_UNSUPPORTED, naming what is missing', () => {
    const images = refusal(() => assertTakes(provider(false, true), ['multimodal', 'documents']));
    expect(images).toBeInstanceOf(JelmoreError);
    expect(images).toMatchObject({
      code: ErrorCode.MultimodalUnsupported,
      message: "Provider 'p' cannot take images",
      details: { provider: 'p', capabilities: ['multimodal'] },
    });
    expect(refusal(() => assertTakes(provider(true, false), ['documents']))).toMatchObject({
      message: "Provider 'p' cannot take PDF documents",
      details: { capabilities: ['documents'] },
    });
    expect(
      refusal(() => assertTakes(provider(false, false), ['multimodal', 'documents'])),
    ).toMatchObject({
      message: "Provider 'p' cannot take images or PDF documents",
      details: { provider: 'p', capabilities: ['multimodal', 'documents'] },
    });
  });
});

describe('SessionTurns.input', () => {
  it('runs the input middlewares once per input: a queued input keeps what they made of it', async () => {
    let runs = 0;
    const turns = new SessionTurns(
      { load: async (blocks: TurnBlock[]) => blocks } as unknown as Attachments,
      {} as EventLog,
      {} as ProviderRegistry,
      {
        input: async (_s: SessionContext, blocks: TurnBlock[]) => {
          runs++;
          return [text('prefix'), ...blocks];
        },
      } as unknown as SessionMiddlewares,
    );
    const session = { id: 's', owner: null, provider: 'p', model: 'm' };
    const queued = [text('hello')];
    // Taken (refusals answer the request), then again when its turn comes.
    expect(await turns.input(queued, session)).toEqual([text('prefix'), text('hello')]);
    expect(await turns.input(queued, session)).toEqual([text('prefix'), text('hello')]);
    expect(runs).toBe(1);
    // Another input, even with the same text, is its own.
    await turns.input([text('hello')], session);
    expect(runs).toBe(2);
  });
});
