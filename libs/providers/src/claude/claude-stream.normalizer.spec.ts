import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, SessionEventDraft } from '@jelmore/contracts';
import { ClaudeStreamNormalizer } from './claude-stream.normalizer';
import { resolveClaudeModel } from './claude.models';

type Line = Parameters<ClaudeStreamNormalizer['push']>[0];

/** Lines recorded from the real CLI (`--output-format stream-json --include-partial-messages`). */
function fixture(name: string): Line[] {
  return readFileSync(join(__dirname, '__fixtures__', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

/** The fixture's lines grouped by turn: each turn ends with its `result` line. */
function turns(lines: Line[]): Line[][] {
  const out: Line[][] = [[]];
  for (const line of lines) {
    out[out.length - 1].push(line);
    if (line.type === 'result') out.push([]);
  }
  return out.filter((t) => t.length > 0);
}

function feed(normalizer: ClaudeStreamNormalizer, lines: Line[]): SessionEventDraft[] {
  return lines.flatMap((line) => normalizer.push(line));
}

function ofType<T extends SessionEventDraft['type']>(
  drafts: SessionEventDraft[],
  type: T,
): Extract<SessionEventDraft, { type: T }>[] {
  return drafts.filter((d): d is Extract<SessionEventDraft, { type: T }> => d.type === type);
}

describe('ClaudeStreamNormalizer', () => {
  describe('tool-turn.jsonl (Bash tool_use, tool_result, streamed text)', () => {
    const lines = fixture('tool-turn.jsonl');

    it('emits tool_use, tool_result, the streamed text pieces, usage and result in order', () => {
      const drafts = feed(new ClaudeStreamNormalizer(), lines);

      expect(drafts).toEqual([
        {
          type: 'tool_use',
          id: 'toolu_msg_fake_1',
          name: 'Bash',
          input: { command: 'echo hi > out.txt && cd sub 2>/dev/null; pwd', description: 'run' },
        },
        {
          type: 'tool_result',
          toolUseId: 'toolu_msg_fake_1',
          output: '/tmp/ct/cwd',
          isError: false,
        },
        { type: 'assistant', text: 'Tool ' },
        { type: 'assistant', text: 'finished' },
        { type: 'assistant', text: '.' },
        { type: 'usage', inputTokens: 84, outputTokens: 14, costUsd: 0.000616 },
        {
          type: 'result',
          text: 'Tool finished.',
          durationMs: 773,
          usage: { inputTokens: 84, outputTokens: 14, costUsd: 0.000616 },
        },
      ]);
    });

    it("with the model's prices, reports each model call's usage as an estimate when the call ends", () => {
      const opus = resolveClaudeModel('opus')!;
      const drafts = feed(new ClaudeStreamNormalizer(opus), lines);
      // Two model calls of 42 input and 7 output tokens each (the tool call, then the answer), priced
      // 5 and 25 USD per million tokens; the CLI's own figure for the turn follows unestimated.
      const estimate = {
        type: 'usage',
        inputTokens: 42,
        outputTokens: 7,
        costUsd: (42 * 5 + 7 * 25) / 1e6,
        estimated: true,
      };
      expect(drafts.map((d) => (d.type === 'usage' ? d : d.type))).toEqual([
        // The CLI writes the call's assistant line (the tool_use) before the call's message_delta.
        'tool_use',
        estimate,
        'tool_result',
        'assistant',
        'assistant',
        'assistant',
        estimate,
        { type: 'usage', inputTokens: 84, outputTokens: 14, costUsd: 0.000616 },
        'result',
      ]);
    });

    it('prices cache writes and reads as Anthropic does, relative to the input price', () => {
      const n = new ClaudeStreamNormalizer(resolveClaudeModel('sonnet'));
      n.push({
        type: 'stream_event',
        event: {
          type: 'message_start',
          message: {
            id: 'm1',
            usage: {
              input_tokens: 10,
              cache_creation_input_tokens: 100,
              cache_read_input_tokens: 1000,
            },
          },
        },
      });
      const [usage] = n.push({
        type: 'stream_event',
        event: { type: 'message_delta', usage: { output_tokens: 20 } },
      });
      expect(usage).toEqual({
        type: 'usage',
        inputTokens: 1110,
        outputTokens: 20,
        costUsd: expect.closeTo(((10 + 100 * 1.25 + 1000 * 0.1) * 3 + 20 * 15) / 1e6, 12),
        estimated: true,
      });
      // A message_delta without its message_start (or a second one) gives no estimate.
      expect(
        n.push({
          type: 'stream_event',
          event: { type: 'message_delta', usage: { output_tokens: 5 } },
        }),
      ).toEqual([]);
    });

    it('does not repeat streamed text when the full assistant line arrives', () => {
      const normalizer = new ClaudeStreamNormalizer();
      const assistantLine = lines.findIndex(
        (l) => l.type === 'assistant' && l.message?.id === 'msg_fake_2',
      );
      expect(assistantLine).toBeGreaterThan(0);

      const before = feed(normalizer, lines.slice(0, assistantLine));
      expect(
        ofType(before, 'assistant')
          .map((d) => d.text)
          .join(''),
      ).toBe('Tool finished.');
      expect(normalizer.push(lines[assistantLine])).toEqual([]);
    });

    it('takes providerRef from the system/init line', () => {
      const normalizer = new ClaudeStreamNormalizer();
      expect(normalizer.providerRef).toBeUndefined();
      normalizer.push(lines[0]);
      expect(lines[0]).toMatchObject({ type: 'system', subtype: 'init' });
      expect(normalizer.providerRef).toBe('8d20186b-d7cf-4db7-8a45-9abc91bb0cd7');
    });
  });

  describe('three-turns-interrupted.jsonl (turn 2 interrupted by a control_request)', () => {
    const [turn1, turn2, turn3] = turns(fixture('three-turns-interrupted.jsonl'));

    function run() {
      const normalizer = new ClaudeStreamNormalizer();
      const first = feed(normalizer, turn1);
      normalizer.expectInterrupt();
      const second = feed(normalizer, turn2);
      const third = feed(normalizer, turn3);
      return { normalizer, first, second, third };
    }

    it('splits the fixture into three turns', () => {
      expect([turn1, turn2, turn3].map((t) => t.at(-1)?.type)).toEqual([
        'result',
        'result',
        'result',
      ]);
    });

    it('streams each turn as one assistant event per text_delta, never duplicated', () => {
      const { first, second, third } = run();

      expect(ofType(first, 'assistant').map((d) => d.text)).toEqual(['Echo: ', 'hello ', 'there']);
      expect(ofType(second, 'assistant').map((d) => d.text)).toEqual([
        'piece 1. ',
        'piece 2. ',
        'piece 3. ',
      ]);
      expect(ofType(third, 'assistant').map((d) => d.text)).toEqual([
        'Echo: ',
        '[Request ',
        'interrupted ',
        'by ',
        'user]\n\nthird ',
        'turn',
      ]);
    });

    it('reports each turn cost as the difference of the cumulative total_cost_usd', () => {
      const { first, second, third } = run();
      // total_cost_usd in the fixture: 0.000308, 0.000656, 0.000964 (cumulative for the process).
      const costs = [first, second, third].map((t) => ofType(t, 'usage').map((u) => u.costUsd));
      expect(costs).toHaveLength(3);
      expect(costs[0]).toHaveLength(1);
      expect(costs[0][0]).toBeCloseTo(0.000308, 12);
      expect(costs[1]).toHaveLength(1);
      expect(costs[1][0]).toBeCloseTo(0.000348, 12);
      expect(costs[2]).toHaveLength(1);
      expect(costs[2][0]).toBeCloseTo(0.000308, 12);

      for (const turn of [first, second, third]) {
        const [usage] = ofType(turn, 'usage');
        const [result] = ofType(turn, 'result');
        expect(result.usage).toEqual({
          inputTokens: usage.inputTokens,
          outputTokens: usage.outputTokens,
          costUsd: usage.costUsd,
        });
      }
    });

    it('ends each turn with usage then result, with tokens of that turn', () => {
      const { first, second, third } = run();

      expect(first.slice(-2)).toEqual([
        { type: 'usage', inputTokens: 42, outputTokens: 7, costUsd: 0.000308 },
        {
          type: 'result',
          text: 'Echo: hello there',
          durationMs: 271,
          usage: { inputTokens: 42, outputTokens: 7, costUsd: 0.000308 },
        },
      ]);
      expect(third.at(-1)).toEqual({
        type: 'result',
        text: 'Echo: [Request interrupted by user]\n\nthird turn',
        durationMs: 140,
        usage: { inputTokens: 42, outputTokens: 7, costUsd: expect.closeTo(0.000308, 12) },
      });
      expect(first.at(-1)).not.toHaveProperty('interrupted');
      expect(third.at(-1)).not.toHaveProperty('interrupted');
      expect(second.at(-1)?.type).toBe('result');
    });

    it('marks the interrupted turn interrupted: true and emits no error event', () => {
      const { second } = run();

      expect(ofType(second, 'error')).toEqual([]);
      const results = ofType(second, 'result');
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ interrupted: true, durationMs: 723 });
      expect(second.map((d) => d.type)).toEqual([
        'assistant',
        'assistant',
        'assistant',
        'usage',
        'result',
      ]);
    });

    it('without expectInterrupt() the same error result is reported as AGENT_ERROR', () => {
      const normalizer = new ClaudeStreamNormalizer();
      feed(normalizer, turn1);
      const second = feed(normalizer, turn2);

      expect(ofType(second, 'error')).toEqual([
        {
          type: 'error',
          code: ErrorCode.AgentError,
          message: '[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null',
        },
      ]);
      expect(ofType(second, 'result')[0]).not.toHaveProperty('interrupted');
    });

    it('keeps providerRef from the init line', () => {
      const { normalizer } = run();
      expect(normalizer.providerRef).toBe('ddef3210-1404-403a-b5df-91e9f3863cfb');
    });
  });

  describe('crafted lines', () => {
    const failed: Line = {
      type: 'result',
      subtype: 'error_during_execution',
      is_error: true,
      result: 'API Error: 500 Internal Server Error',
      duration_ms: 1200,
      total_cost_usd: 0.0005,
      usage: { input_tokens: 10, output_tokens: 0 },
    };

    it('turns an is_error result into an AGENT_ERROR error, then usage and result', () => {
      const drafts = new ClaudeStreamNormalizer().push(failed);

      expect(drafts).toEqual([
        {
          type: 'error',
          code: ErrorCode.AgentError,
          message: 'API Error: 500 Internal Server Error',
        },
        { type: 'usage', inputTokens: 10, outputTokens: 0, costUsd: 0.0005 },
        {
          type: 'result',
          text: 'API Error: 500 Internal Server Error',
          durationMs: 1200,
          usage: { inputTokens: 10, outputTokens: 0, costUsd: 0.0005 },
        },
      ]);
      expect(ErrorCode.AgentError).toBe('AGENT_ERROR');
    });

    it('names the subtype when an error result carries no text', () => {
      const [error] = new ClaudeStreamNormalizer().push({
        type: 'result',
        subtype: 'error_max_turns',
        is_error: true,
      });
      expect(error).toEqual({
        type: 'error',
        code: ErrorCode.AgentError,
        message: 'Agent turn failed (error_max_turns)',
      });
    });

    it('forgets an interrupt request once a turn completes normally', () => {
      const normalizer = new ClaudeStreamNormalizer();
      normalizer.expectInterrupt();
      const ok = normalizer.push({
        type: 'result',
        subtype: 'success',
        is_error: false,
        result: 'x',
      });
      expect(ok.map((d) => d.type)).toEqual(['usage', 'result']);
      expect(ok[1]).not.toHaveProperty('interrupted');

      const next = normalizer.push(failed);
      expect(next[0]).toMatchObject({ type: 'error', code: ErrorCode.AgentError });
      expect(next.at(-1)).not.toHaveProperty('interrupted');
    });

    it('counts cache tokens as input tokens', () => {
      const [usage] = new ClaudeStreamNormalizer().push({
        type: 'result',
        subtype: 'success',
        usage: {
          input_tokens: 3,
          cache_creation_input_tokens: 100,
          cache_read_input_tokens: 1000,
          output_tokens: 9,
        },
        total_cost_usd: 0.01,
      });
      expect(usage).toEqual({ type: 'usage', inputTokens: 1103, outputTokens: 9, costUsd: 0.01 });
    });

    it('yields the text of an assistant line that was not streamed, once', () => {
      const normalizer = new ClaudeStreamNormalizer();
      // Another message was streamed before: only that one is suppressed.
      normalizer.push({
        type: 'stream_event',
        event: { type: 'message_start', message: { id: 'msg_streamed' } },
      });
      normalizer.push({
        type: 'stream_event',
        event: { type: 'content_block_delta', delta: { type: 'text_delta', text: 'streamed' } },
      });

      const drafts = normalizer.push({
        type: 'assistant',
        message: {
          id: 'msg_not_streamed',
          content: [
            { type: 'text', text: 'Whole reply.' },
            { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/x' } },
          ],
        },
      });

      expect(drafts).toEqual([
        { type: 'assistant', text: 'Whole reply.' },
        { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/x' } },
      ]);
      expect(
        normalizer.push({
          type: 'assistant',
          message: { id: 'msg_streamed', content: [{ type: 'text', text: 'streamed' }] },
        }),
      ).toEqual([]);
    });

    it('reports an errored tool_result with its text blocks joined', () => {
      const drafts = new ClaudeStreamNormalizer().push({
        type: 'user',
        message: {
          content: [
            {
              type: 'tool_result',
              tool_use_id: 'toolu_9',
              is_error: true,
              content: [
                { type: 'text', text: 'line 1' },
                { type: 'text', text: 'line 2' },
              ],
            },
          ],
        },
      });
      expect(drafts).toEqual([
        { type: 'tool_result', toolUseId: 'toolu_9', output: 'line 1\nline 2', isError: true },
      ]);
    });

    it.each<[string, Line]>([
      ['control_response', { type: 'control_response' }],
      ['rate_limit_event', { type: 'rate_limit_event' }],
      ['system/status', { type: 'system', subtype: 'status' }],
      ['no type', {}],
      ['user text (not a tool_result)', { type: 'user', message: { content: 'hi' } }],
      [
        'input_json_delta',
        {
          type: 'stream_event',
          event: { type: 'content_block_delta', delta: { type: 'input_json_delta' } },
        },
      ],
    ])('yields nothing for %s', (_name, line) => {
      expect(new ClaudeStreamNormalizer().push(line)).toEqual([]);
    });
  });
});
