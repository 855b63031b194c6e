import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, ModelInfo, SessionEventDraft } from '@jelmore/contracts';
import { GeminiLine, GeminiStreamNormalizer } from './gemini-stream.normalizer';
import { geminiUsage, resolveGeminiModel } from './gemini.models';

/**
 * Lines recorded from the real Gemini CLI 0.61 (`--output-format stream-json`) against
 * test/fixtures/fake-gemini.ts, whose every model call reports 1200 prompt tokens (200 cached),
 * 30 candidate and 10 thinking tokens.
 */
function fixture(name: string): GeminiLine[] {
  return readFileSync(join(__dirname, '__fixtures__', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as GeminiLine);
}

function model(id: string): ModelInfo {
  const found = resolveGeminiModel(id);
  if (!found) throw new Error(`no model ${id}`);
  return found;
}

const flash = model('gemini-2.5-flash');

function feed(normalizer: GeminiStreamNormalizer, lines: GeminiLine[]): SessionEventDraft[] {
  return lines.flatMap((line) => normalizer.push(line));
}

/** Two model calls on gemini-2.5-flash ($0.30 / $2.50 per 1M, cached input at a tenth). */
const TWO_CALLS = {
  inputTokens: 2400,
  // 60 candidate tokens plus 20 thinking tokens, which the CLI's output_tokens leaves out.
  outputTokens: 80,
  costUsd: ((2000 + 400 * 0.1) * 0.3 + 80 * 2.5) / 1e6,
};

describe('GeminiStreamNormalizer', () => {
  it('tool-turn.jsonl: tool_use, tool_result, the text in pieces, then the priced usage and result', () => {
    const normalizer = new GeminiStreamNormalizer(flash);
    const drafts = feed(normalizer, fixture('tool-turn.jsonl'));
    const toolId = 'run_shell_command__run_shell_command_1795717316575_0';
    expect(drafts).toEqual([
      {
        type: 'tool_use',
        id: toolId,
        name: 'run_shell_command',
        input: { command: 'echo hello-from-gemini > out.txt', description: 'run' },
      },
      { type: 'tool_result', toolUseId: toolId, output: '', isError: false },
      { type: 'assistant', text: 'Tool ' },
      { type: 'assistant', text: 'finished' },
      { type: 'assistant', text: '.' },
      { type: 'usage', ...TWO_CALLS },
      { type: 'result', text: 'Tool finished.', durationMs: 281, usage: TWO_CALLS },
    ]);
    expect(TWO_CALLS.costUsd).toBeCloseTo(0.000812, 12);
    expect(normalizer.providerRef).toBe('87578da5-df62-4c4a-8499-7f80c929fd33');
    expect(normalizer).toMatchObject({ saved: true, ended: true });
  });

  it('resumed-tool-error.jsonl: a resumed turn keeps the id; a command failing in the shell is no tool error', () => {
    const normalizer = new GeminiStreamNormalizer(flash);
    const drafts = feed(normalizer, fixture('resumed-tool-error.jsonl'));
    expect(normalizer.providerRef).toBe('87578da5-df62-4c4a-8499-7f80c929fd33');
    expect(drafts.find((d) => d.type === 'tool_result')).toEqual({
      type: 'tool_result',
      toolUseId: 'run_shell_command__run_shell_command_1795717320595_0',
      output: "hello-from-gemini\nls: cannot access '/nonexistent-dir': No such file or directory",
      isError: false,
    });
  });

  it('tool-refused.jsonl: a tool the CLI refused is an error result, and the turn goes on', () => {
    const drafts = feed(new GeminiStreamNormalizer(flash), fixture('tool-refused.jsonl'));
    expect(drafts.find((d) => d.type === 'tool_result')).toEqual({
      type: 'tool_result',
      toolUseId: 'run_shell_command__run_shell_command_1795717323562_0',
      output:
        'Tool "run_shell_command" not found. Did you mean one of: "update_topic", "grep_search", "invoke_agent"?',
      isError: true,
    });
    expect(drafts[drafts.length - 1]).toMatchObject({ type: 'result', text: 'Tool finished.' });
    expect(drafts.some((d) => d.type === 'error')).toBe(false);
  });

  it('failed-turn.jsonl: the API error, zero usage and a result; nothing saved to resume', () => {
    const normalizer = new GeminiStreamNormalizer(flash);
    const drafts = feed(normalizer, fixture('failed-turn.jsonl'));
    const zero = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
    expect(drafts).toEqual([
      {
        type: 'error',
        code: ErrorCode.AgentError,
        message:
          '[API Error: {"error":{"code":400,"message":"fake model refused the request","status":"INVALID_ARGUMENT"}}]',
      },
      { type: 'usage', ...zero },
      { type: 'result', text: '', durationMs: 0, usage: zero },
    ]);
    // The CLI's conversation has no answer on disk: `--resume` would not find it.
    expect(normalizer).toMatchObject({ saved: false, ended: true });
  });

  it('invalid-stream.jsonl: the error line is reported once, the failed result after it prices the retries', () => {
    const drafts = feed(new GeminiStreamNormalizer(flash), fixture('invalid-stream.jsonl'));
    expect(drafts.map((d) => d.type)).toEqual(['error', 'usage', 'result']);
    expect(drafts[0]).toEqual({
      type: 'error',
      code: ErrorCode.AgentError,
      message:
        'The model returned an empty response with no text or thoughts. This may be a transient API issue; please try again.',
    });
    expect(drafts[1]).toMatchObject({ inputTokens: 4800, outputTokens: 160 });
  });

  it('interrupted-turn.jsonl: the pieces before the kill, then a result marked interrupted, once', () => {
    const normalizer = new GeminiStreamNormalizer(flash);
    const drafts = feed(normalizer, fixture('interrupted-turn.jsonl'));
    expect(drafts).toHaveLength(8);
    expect(drafts.every((d) => d.type === 'assistant')).toBe(true);
    expect(normalizer).toMatchObject({ saved: true, ended: false });

    expect(normalizer.interrupted(1234)).toEqual([
      {
        type: 'result',
        text: 'piece 1. piece 2. piece 3. piece 4. piece 5. piece 6. piece 7. piece 8. ',
        durationMs: 1234,
        usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
        interrupted: true,
      },
    ]);
    expect(normalizer.interrupted(1300)).toEqual([]);
  });

  it('leaves out warnings, the echo of the user`s prompt and lines it does not know', () => {
    const drafts = feed(new GeminiStreamNormalizer(flash), [
      { type: 'message', role: 'user', content: 'hello' },
      { type: 'error', severity: 'warning', message: 'Loop detected, stopping execution' },
      { type: 'something_new' },
    ]);
    expect(drafts).toEqual([]);
  });
});

describe('geminiUsage', () => {
  it('prices each model of the turn at its own list price, an unknown one at the session`s', () => {
    const usage = geminiUsage(
      {
        'gemini-2.5-pro': { input_tokens: 1000, cached: 0, output_tokens: 100, total_tokens: 1100 },
        'gemini-2.5-flash-lite': { input_tokens: 500, output_tokens: 50, total_tokens: 550 },
        'gemini-next-unknown': { input_tokens: 100, output_tokens: 10, total_tokens: 110 },
      },
      flash,
    );
    expect(usage.inputTokens).toBe(1600);
    expect(usage.outputTokens).toBe(160);
    expect(usage.costUsd).toBeCloseTo(
      (1000 * 1.25 + 100 * 10 + 500 * 0.1 + 50 * 0.4 + 100 * 0.3 + 10 * 2.5) / 1e6,
      12,
    );
  });
});
