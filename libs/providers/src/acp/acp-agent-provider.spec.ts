import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import {
  AgentInput,
  AgentSession,
  ErrorCode,
  McpServerConfig,
  SessionEventDraft,
} from '@jelmore/contracts';
import { agentAttachment, pdfDocument, pngImage } from '../../../../test/support/media';
import { sharedSandbox } from '../process/agent-sandbox';
import { AcpAgentProvider } from './acp-agent-provider';
import { loadAcpAgents } from './acp-config';
import { acpMcpServers } from './acp-mcp';

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

const JELMORE_MCP: McpServerConfig = {
  name: 'jelmore',
  url: 'http://127.0.0.1:3000/mcp',
  headers: { authorization: 'Bearer t0k', 'x-extra': 'x' },
};

const ACP_JELMORE_MCP = {
  type: 'http',
  name: 'jelmore',
  url: 'http://127.0.0.1:3000/mcp',
  headers: [
    { name: 'authorization', value: 'Bearer t0k' },
    { name: 'x-extra', value: 'x' },
  ],
};

describe('acpMcpServers', () => {
  it('gives HTTP servers, headers as a list, to an agent that announced mcpCapabilities.http', () => {
    expect(acpMcpServers([JELMORE_MCP], { mcpCapabilities: { http: true } })).toEqual({
      mcpServers: [ACP_JELMORE_MCP],
      refused: false,
    });
  });

  it('gives none to an agent that did not, and says so', () => {
    for (const capabilities of [undefined, {}, { mcpCapabilities: { sse: true } }]) {
      expect(acpMcpServers([JELMORE_MCP], capabilities)).toEqual({ mcpServers: [], refused: true });
    }
  });

  it('has nothing to refuse when the session has no server', () => {
    expect(acpMcpServers(undefined, {})).toEqual({ mcpServers: [], refused: false });
    expect(acpMcpServers([], {})).toEqual({ mcpServers: [], refused: false });
  });
});

describe('AcpAgentProvider: the session MCP servers (with the fixture agent)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-acp-mcp-'));
  const sessions: AgentSession[] = [];
  let n = 0;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => warn.mockRestore());

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.terminate()));
    rmSync(dir, { recursive: true, force: true });
  });

  /** A provider of the fixture (announcing HTTP MCP servers, or not), logging what it receives. */
  function provider(http: boolean) {
    const log = join(dir, `received-${++n}.jsonl`);
    const env = {
      ACP_FIXTURE_LOG: log,
      ...(http ? { ACP_FIXTURE_MCP_CAPABILITIES: '{"http":true}' } : {}),
    };
    const [agent] = loadAcpAgents({ seer: { type: 'acp', command: FIXTURE, env } }, 'f', []);
    const from = new AcpAgentProvider(agent, {
      agentRoot: join(dir, `agents-${n}`),
      sandbox: sharedSandbox({ mode: 'off', network: 'host' }),
    });
    /** The params of each `method` request the agent received. */
    const received = (method: string): unknown[] =>
      readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .filter((message) => message.method === method)
        .map((message) => message.params);
    return { from, received };
  }

  async function firstTurn(from: AcpAgentProvider) {
    const session = from.createSession({
      sessionId: `m${++n}`,
      cwd: dir,
      mcpServers: [JELMORE_MCP],
    });
    sessions.push(session);
    const collected = new Collected(session);
    await session.start([{ type: 'text', text: 'hello' }]);
    await collected.results(1);
    return session;
  }

  it(
    'passes them in session/new and session/load to an agent that announced mcpCapabilities.http',
    async () => {
      const { from, received } = provider(true);
      const state = await (await firstTurn(from)).suspend();
      expect(received('session/new')).toEqual([{ cwd: dir, mcpServers: [ACP_JELMORE_MCP] }]);

      // A resume is a new agent process: its MCP connections are to make again.
      const resumed = from.createSession({
        sessionId: `m${++n}`,
        cwd: dir,
        mcpServers: [JELMORE_MCP],
      });
      sessions.push(resumed);
      await resumed.resume(state);
      expect(received('session/load')).toEqual([
        { cwd: dir, mcpServers: [ACP_JELMORE_MCP], sessionId: state.providerRef },
      ]);
      expect(warn).not.toHaveBeenCalled();
    },
    AGENT_TEST_MS,
  );

  it(
    'leaves them out for an agent that did not, and warns once per provider',
    async () => {
      const { from, received } = provider(false);
      await firstTurn(from);
      await firstTurn(from);
      expect(received('session/new')).toEqual([
        { cwd: dir, mcpServers: [] },
        { cwd: dir, mcpServers: [] },
      ]);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toContain('seer: the agent announced no mcpCapabilities.http');
    },
    AGENT_TEST_MS,
  );
});
