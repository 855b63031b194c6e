import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AgentInput, AgentSession, ErrorCode, SessionEventDraft } from '@jelmore/contracts';
import { agentAttachment, pdfDocument, pngImage } from '../../../../test/support/media';
import { sharedSandbox } from '../process/agent-sandbox';
import { AcpAgentProvider } from './acp-agent-provider';
import { loadAcpAgents } from './acp-config';

/** A real agent process starts in each: a second or so, more while other specs load the machine. */
const AGENT_TEST_MS = 30_000;

/** The SDK-built fixture agent: its reply names each image and resource it got, with a sha256. */
const FIXTURE = resolve(__dirname, '../../../../test/fixtures/acp-agent.mjs');

/** A session's events as they come, and a wait for the n-th result. */
class Collected {
  readonly events: SessionEventDraft[] = [];
  private wake = () => {};

  constructor(session: AgentSession) {
    void (async () => {
      for await (const event of session.events()) {
        this.events.push(event);
        this.wake();
      }
    })();
  }

  ofType<T extends SessionEventDraft['type']>(type: T) {
    return this.events.filter((e): e is Extract<SessionEventDraft, { type: T }> => e.type === type);
  }

  async results(n: number): Promise<void> {
    while (this.ofType('result').length < n) {
      await new Promise<void>((done) => (this.wake = done));
    }
  }
}

describe('AcpAgentProvider: images and documents (with the fixture agent)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-acp-media-'));
  const sessions: AgentSession[] = [];
  let n = 0;

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.terminate()));
    rmSync(dir, { recursive: true, force: true });
  });

  function provider(entry: object): AcpAgentProvider {
    const [agent] = loadAcpAgents({ seer: { type: 'acp', command: FIXTURE, ...entry } }, 'f', []);
    return new AcpAgentProvider(agent, {
      agentRoot: join(dir, 'agents'),
      sandbox: sharedSandbox({ mode: 'off', network: 'host' }),
    });
  }

  async function start(from: AcpAgentProvider, input: AgentInput) {
    const session = from.createSession({ sessionId: `s${++n}`, cwd: dir });
    sessions.push(session);
    const collected = new Collected(session);
    await session.start(input);
    return { session, collected };
  }

  const png = agentAttachment('image', 'image/png', pngImage(7));
  const pdf = agentAttachment('document', 'application/pdf', pdfDocument('kiwi'), 'spec.pdf');
  const notes = agentAttachment('document', 'text/markdown', Buffer.from('# buy kiwi'), 'notes.md');

  it('declares images and PDFs as its entry lists them', () => {
    expect(provider({ input: ['image', 'pdf'] }).capabilities).toMatchObject({
      multimodal: true,
      documents: true,
    });
    expect(provider({ input: ['pdf'] }).capabilities).toMatchObject({
      multimodal: false,
      documents: true,
    });
    expect(provider({}).capabilities).toMatchObject({ multimodal: false, documents: false });
  });

  it(
    'sends the exact bytes: an image block, a PDF and a text document as resources',
    async () => {
      const { collected } = await start(provider({ input: ['image', 'pdf'] }), [
        { type: 'text', text: 'what is in these?' },
        png,
        pdf,
        notes,
      ]);
      await collected.results(1);
      const reply = collected.ofType('result')[0].text;
      expect(reply).toContain(`image image/png sha256:${png.sha256}`);
      expect(reply).toContain(
        `resource attachment://${pdf.sha256}/spec.pdf application/pdf sha256:${pdf.sha256}`,
      );
      expect(reply).toContain(`resource attachment://${notes.sha256}/notes.md text/markdown`);
      expect(reply).toContain(`sha256:${notes.sha256}`);
      expect(reply).toContain('you said: what is in these?');
    },
    AGENT_TEST_MS,
  );

  it(
    'refuses a turn with what the agent did not announce, and the session goes on',
    async () => {
      const { session, collected } = await start(
        provider({
          input: ['image'],
          env: { ACP_FIXTURE_PROMPT_CAPABILITIES: '{"image":false,"embeddedContext":false}' },
        }),
        [{ type: 'text', text: 'see' }, png],
      );
      await collected.results(1);
      expect(collected.ofType('error')).toEqual([
        {
          type: 'error',
          code: ErrorCode.MultimodalUnsupported,
          message:
            'seer: the agent takes no images: it did not announce promptCapabilities.image in initialize',
        },
      ]);

      // A text document goes inline where the agent takes no embedded context.
      await session.send([{ type: 'text', text: 'and now' }, notes]);
      await collected.results(2);
      // The agent counts its turns: the refused one never reached it.
      expect(collected.ofType('result')[1].text).toBe(
        'turn 1; previous: none\nyou said: and now\n<document name="notes.md">\n# buy kiwi\n</document>',
      );
    },
    AGENT_TEST_MS,
  );
});
