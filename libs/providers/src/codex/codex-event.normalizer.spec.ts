import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, SessionEventDraft } from '@jelmore/contracts';
import { CodexEventNormalizer, CodexLine } from './codex-event.normalizer';
import { threadTotals } from './codex-rollout';
import { CodexModel, resolveCodexModel } from './codex.models';

/**
 * Lines printed by the real `codex exec --json` (0.171.0) against test/fixtures/fake-openai-responses.ts,
 * with the arguments CodexSession uses and the config codex-config.ts writes; one exec run per turn.
 */
function fixture(name: string): CodexLine[] {
  return readFileSync(join(__dirname, '__fixtures__', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as CodexLine);
}

/** The fixture's lines by exec run: each run starts with `thread.started`. */
function runs(lines: CodexLine[]): CodexLine[][] {
  const out: CodexLine[][] = [];
  for (const line of lines) {
    if (line.type === 'thread.started') out.push([]);
    out[out.length - 1].push(line);
  }
  return out;
}

const GPT55 = resolveCodexModel('gpt-5.5') as CodexModel;
const T0 = 1_000_000;

function turn(
  normalizer: CodexEventNormalizer,
  turnId: string,
  lines: CodexLine[],
  tookMs = 400,
): SessionEventDraft[] {
  normalizer.startTurn(turnId, T0);
  return lines.flatMap((line) => normalizer.push(line, T0 + tookMs));
}

const THREAD = '01a2191b-7deb-75a2-92be-433cb783d04e';
const COMMAND = "/bin/bash -lc 'echo hello > made.txt && cat made.txt'";
// gpt-5.5: $5 per 1M input, $0.50 per 1M cached input, $30 per 1M output.
const TURN1_USAGE = { inputTokens: 2000, outputTokens: 100, costUsd: 0.0121 };
const TURN2_USAGE = { inputTokens: 1000, outputTokens: 50, costUsd: 0.00605 };

describe('CodexEventNormalizer', () => {
  describe('bash-then-resume.jsonl (a shell tool call, then `exec resume` of the thread)', () => {
    const [first, second] = runs(fixture('bash-then-resume.jsonl'));

    it('turns the first run into messages, the tool call and its result, usage and result', () => {
      const normalizer = new CodexEventNormalizer(GPT55);

      expect(turn(normalizer, 't1', first)).toEqual([
        { type: 'assistant', text: 'Running it.' },
        { type: 'tool_use', id: 't1/item_1', name: 'shell', input: { command: COMMAND } },
        { type: 'tool_result', toolUseId: 't1/item_1', output: 'hello\n', isError: false },
        { type: 'assistant', text: 'Tool finished.' },
        { type: 'usage', ...TURN1_USAGE },
        { type: 'result', text: 'Tool finished.', durationMs: 400, usage: TURN1_USAGE },
      ]);
      expect(normalizer.threadId).toBe(THREAD);
      expect(normalizer.turnActive).toBe(false);
      expect(normalizer.exited()).toEqual([]);
    });

    it('counts only the resumed turn`s tokens, though Codex reports the thread`s totals', () => {
      const normalizer = new CodexEventNormalizer(GPT55);
      turn(normalizer, 't1', first);

      expect(turn(normalizer, 't2', second, 250)).toEqual([
        { type: 'assistant', text: 'Echo: second turn' },
        { type: 'usage', ...TURN2_USAGE },
        { type: 'result', text: 'Echo: second turn', durationMs: 250, usage: TURN2_USAGE },
      ]);
      // The resumed run repeats the thread id: it is the same conversation.
      expect(normalizer.threadId).toBe(THREAD);
    });

    it('starts from the totals of a thread it did not see, as its rollout gives them', async () => {
      const home = join(__dirname, '__fixtures__', 'codex-home');
      expect(await threadTotals(home, THREAD)).toEqual({
        inputTokens: 3000,
        cachedInputTokens: 300,
        outputTokens: 150,
      });
      expect(await threadTotals(home, 'no-such-thread')).toBeUndefined();
      expect(await threadTotals('/nonexistent', THREAD)).toBeUndefined();

      // A session resumed in a new process after the first turn, before the second.
      const resumed = new CodexEventNormalizer(GPT55, {
        inputTokens: 2000,
        cachedInputTokens: 200,
        outputTokens: 100,
      });
      const drafts = turn(resumed, 't2', second);
      expect(drafts.find((d) => d.type === 'usage')).toEqual({ type: 'usage', ...TURN2_USAGE });
    });

    it('gives tool calls of different turns different ids (Codex numbers items per run)', () => {
      const normalizer = new CodexEventNormalizer(GPT55);
      const a = turn(normalizer, 'aaaa', first).filter((d) => d.type === 'tool_use');
      const b = turn(normalizer, 'bbbb', first).filter((d) => d.type === 'tool_use');
      expect(a).toEqual([expect.objectContaining({ id: 'aaaa/item_1' })]);
      expect(b).toEqual([expect.objectContaining({ id: 'bbbb/item_1' })]);
    });
  });

  it('reports an apply_patch file change as a tool call with the changed paths (patch-turn.jsonl)', () => {
    const drafts = turn(new CodexEventNormalizer(GPT55), 't1', fixture('patch-turn.jsonl'));
    const path = '/tmp/codexwork/rec/cwd/notes/hello.md';

    expect(drafts.filter((d) => d.type === 'tool_use' || d.type === 'tool_result')).toEqual([
      {
        type: 'tool_use',
        id: 't1/item_1',
        name: 'apply_patch',
        input: { changes: [{ path, kind: 'add' }] },
      },
      { type: 'tool_result', toolUseId: 't1/item_1', output: `add ${path}`, isError: false },
    ]);
  });

  it('ends a failed turn with the API`s error message and an empty result (failed-turn.jsonl)', () => {
    const normalizer = new CodexEventNormalizer(GPT55);

    expect(turn(normalizer, 't1', fixture('failed-turn.jsonl'))).toEqual([
      { type: 'error', code: ErrorCode.AgentError, message: 'fake upstream failure' },
      {
        type: 'result',
        text: '',
        durationMs: 400,
        usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
      },
    ]);
    expect(normalizer.turnActive).toBe(false);
    // The run exits 1 after turn.failed: that is the turn's end, not a crash.
    expect(normalizer.exited()).toEqual([]);
  });

  it('drops Codex`s warnings, such as a model it has no metadata for (unknown-model.jsonl)', () => {
    const lines = fixture('unknown-model.jsonl');
    expect(lines.some((l) => l.item?.type === 'error')).toBe(true);

    const drafts = turn(new CodexEventNormalizer(GPT55), 't1', lines);

    expect(drafts.map((d) => d.type)).toEqual(['assistant', 'usage', 'result']);
    expect(drafts[0]).toEqual({ type: 'assistant', text: 'Echo: hi' });
  });

  describe('mcp-turn.jsonl (a call of an MCP server`s tool, given as codexMcpLaunch gives it)', () => {
    // The second run had no `default_tools_approval_mode`: Codex refused the call unasked.
    const [approved, refused] = runs(fixture('mcp-turn.jsonl'));

    it('reports the call as server.tool, and its result as the text the tool returned', () => {
      const drafts = turn(new CodexEventNormalizer(GPT55), 't1', approved);
      expect(drafts.filter((d) => d.type === 'tool_use' || d.type === 'tool_result')).toEqual([
        {
          type: 'tool_use',
          id: 't1/item_0',
          name: 'jelmore.start_session',
          input: { query: 'child task', wait: true },
        },
        {
          type: 'tool_result',
          toolUseId: 't1/item_0',
          output: 'child said: done with child task',
          isError: false,
        },
      ]);
    });

    it('reports a refused call as an error result with Codex`s reason', () => {
      const drafts = turn(new CodexEventNormalizer(GPT55), 't1', refused);
      expect(drafts.find((d) => d.type === 'tool_result')).toEqual({
        type: 'tool_result',
        toolUseId: 't1/item_0',
        output: 'MCP tool call requires approval, but approval policy is never',
        isError: true,
      });
    });
  });

  describe('interrupted-turn.jsonl (SIGINT while the model streamed)', () => {
    const lines = fixture('interrupted-turn.jsonl');

    it('ends the turn with an interrupted result when the stop was asked for', () => {
      const normalizer = new CodexEventNormalizer(GPT55);
      expect(turn(normalizer, 't1', lines)).toEqual([]);
      expect(normalizer.turnActive).toBe(true);

      normalizer.expectInterrupt();
      expect(normalizer.exited(T0 + 900)).toEqual([
        {
          type: 'result',
          text: '',
          durationMs: 900,
          usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
          interrupted: true,
        },
      ]);
      expect(normalizer.turnActive).toBe(false);
    });

    it('leaves an exit nobody asked for to the session to report as a crash', () => {
      const normalizer = new CodexEventNormalizer(GPT55);
      turn(normalizer, 't1', lines);
      expect(normalizer.exited()).toBeUndefined();
    });

    it('does not carry an interrupt asked for in one turn into the next', () => {
      const normalizer = new CodexEventNormalizer(GPT55);
      turn(normalizer, 't1', lines);
      normalizer.expectInterrupt();
      normalizer.exited();

      turn(normalizer, 't2', lines);
      expect(normalizer.exited()).toBeUndefined();
    });
  });
});
