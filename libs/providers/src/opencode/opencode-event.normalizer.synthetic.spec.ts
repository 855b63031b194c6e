import { ErrorCode } from '@jelmore/contracts';
import { OpencodeEvent, OpencodeEventNormalizer } from './opencode-event.normalizer';
import { deepseek, kimi, ofType } from './opencode-event.normalizer.spec-helpers';

// Hand-made events for what the recording lacks: whole parts, failed tools, cache tokens, errors.
describe('OpencodeEventNormalizer', () => {
  describe('synthetic events', () => {
    const msg = (id: string, role: string): OpencodeEvent => ({
      type: 'message.updated',
      properties: { sessionID: 's', info: { id, role } },
    });
    const part = (p: Record<string, unknown>): OpencodeEvent => ({
      type: 'message.part.updated',
      properties: { sessionID: 's', part: p },
    });
    const delta = (messageID: string, partID: string, text: string): OpencodeEvent => ({
      type: 'message.part.delta',
      properties: { sessionID: 's', messageID, partID, field: 'text', delta: text },
    });
    // Every real turn goes busy before it goes idle.
    const busy: OpencodeEvent = {
      type: 'session.status',
      properties: { sessionID: 's', status: { type: 'busy' } },
    };
    const idle: OpencodeEvent = { type: 'session.idle', properties: { sessionID: 's' } };

    function feed(normalizer: OpencodeEventNormalizer, list: OpencodeEvent[], now = 0) {
      return list.flatMap((e) => normalizer.push(e, now));
    }

    it('reports a text part that arrives whole (no deltas) once, with all its text', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      n.startTurn(1_000);
      const whole = {
        id: 'p1',
        messageID: 'm1',
        type: 'text',
        text: 'All at once.',
        time: { start: 1, end: 2 },
      };
      const drafts = feed(n, [
        busy,
        msg('m1', 'assistant'),
        part({ ...whole, text: '', time: { start: 1 } }),
        part(whole),
        part(whole),
      ]);
      expect(drafts).toEqual([{ type: 'assistant', text: 'All at once.' }]);
      const [result] = n.push(idle, 1_250);
      expect(result).toMatchObject({ type: 'result', text: 'All at once.', durationMs: 250 });
    });

    it('does not report a whole text part of a user message', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      n.startTurn(0);
      const drafts = feed(n, [
        msg('u1', 'user'),
        part({ id: 'p1', messageID: 'u1', type: 'text', text: 'hi', time: { start: 1, end: 2 } }),
        delta('u1', 'p1', 'hi'),
      ]);
      expect(drafts).toEqual([]);
    });

    it('reports a failed tool as tool_use and a tool_result with isError and the error', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      n.startTurn(0);
      const drafts = feed(n, [
        msg('m1', 'assistant'),
        part({
          id: 't1',
          messageID: 'm1',
          type: 'tool',
          tool: 'read',
          callID: 'call_1',
          state: { status: 'error', input: { filePath: '/nope' }, error: 'File not found: /nope' },
        }),
      ]);
      expect(drafts).toEqual([
        { type: 'tool_use', id: 'call_1', name: 'read', input: { filePath: '/nope' } },
        {
          type: 'tool_result',
          toolUseId: 'call_1',
          output: 'File not found: /nope',
          isError: true,
        },
      ]);
    });

    it('says "tool failed" when a failed tool gives no error text, and reports it once', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      const failed = part({
        id: 't1',
        messageID: 'm1',
        type: 'tool',
        tool: 'bash',
        callID: 'call_1',
        state: { status: 'error', input: {} },
      });
      expect(feed(n, [failed, failed])).toEqual([
        { type: 'tool_use', id: 'call_1', name: 'bash', input: {} },
        { type: 'tool_result', toolUseId: 'call_1', output: 'tool failed', isError: true },
      ]);
    });

    it('adds cache reads, cache writes and reasoning to the step-finish tokens', () => {
      const n = new OpencodeEventNormalizer(kimi);
      n.startTurn(0);
      const stepFinish = (id: string, tokens: Record<string, unknown>) =>
        part({ id, messageID: 'm1', type: 'step-finish', tokens });
      const first = stepFinish('s1', {
        input: 10,
        output: 5,
        reasoning: 3,
        cache: { read: 100, write: 7 },
      });
      // A step-finish part sent again is counted once.
      const steps = feed(n, [busy, first, first, stepFinish('s2', { input: 1, output: 2 })]);
      const priced = (input: number, output: number) => ({
        type: 'usage',
        inputTokens: input,
        outputTokens: output,
        costUsd: expect.closeTo((input * 0.6 + output * 2.5) / 1e6, 12),
      });
      expect(steps).toEqual([priced(10 + 100 + 7, 5 + 3), priced(1, 2)]);
      const usage = {
        inputTokens: 10 + 100 + 7 + 1,
        outputTokens: 5 + 3 + 2,
        costUsd: expect.closeTo(((10 + 100 + 7 + 1) * 0.6 + (5 + 3 + 2) * 2.5) / 1e6, 12),
      };
      expect(n.push(idle, 10)).toEqual([{ type: 'result', text: '', durationMs: 10, usage }]);
    });

    it('marks a turn interrupted when the client stopped it, even if opencode reports no abort error', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      n.expectInterrupt(); // no turn: nothing to mark
      n.startTurn(0);
      n.push(busy);
      n.expectInterrupt();
      expect(n.push(idle, 5)).toEqual([
        expect.objectContaining({ type: 'result', interrupted: true }),
      ]);
      n.startTurn(10);
      n.push(busy);
      expect(n.push(idle, 20)[0]).not.toHaveProperty('interrupted');
    });

    it('copes with events before startTurn: no result, and their tokens count for no turn', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      expect(n.turnActive).toBe(false);
      const early = feed(n, [
        msg('m1', 'assistant'),
        part({ id: 'p1', messageID: 'm1', type: 'text', text: '' }),
        part({ id: 's1', messageID: 'm1', type: 'step-finish', tokens: { input: 50, output: 9 } }),
        { type: 'session.error', properties: { error: { name: 'MessageAbortedError' } } },
        { type: 'session.status', properties: { status: { type: 'idle' } } },
        idle,
        idle,
        { type: 'message.updated' },
        { type: 'message.part.updated' },
        { type: 'message.part.delta' },
        { type: 'session.idle' },
        { type: 'something.new', properties: { sessionID: 's' } },
      ]);
      expect(ofType(early, 'result')).toEqual([]);
      expect(ofType(early, 'usage')).toEqual([]);
      expect(early).toEqual([]);
      expect(n.turnActive).toBe(false);

      n.startTurn(0);
      expect(n.turnActive).toBe(true);
      const drafts = feed(n, [busy, delta('m1', 'p1', 'late'), idle]);
      expect(drafts).toEqual([
        { type: 'assistant', text: 'late' },
        {
          type: 'result',
          text: 'late',
          durationMs: 0,
          usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
        },
      ]);
      expect(n.turnActive).toBe(false);
    });

    it('names an error by its message, else its name, else generically', () => {
      const n = new OpencodeEventNormalizer(deepseek);
      const error = (e: unknown): OpencodeEvent => ({
        type: 'session.error',
        properties: { sessionID: 's', error: e },
      });
      expect(
        feed(n, [
          error({ name: 'ProviderAuthError', data: { message: 'bad key' } }),
          error({ name: 'UnknownError' }),
          error(undefined),
        ]),
      ).toEqual([
        { type: 'error', code: ErrorCode.AgentError, message: 'bad key' },
        { type: 'error', code: ErrorCode.AgentError, message: 'UnknownError' },
        { type: 'error', code: ErrorCode.AgentError, message: 'opencode reported an error' },
      ]);
    });
  });
});
