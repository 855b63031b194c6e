import { ErrorCode, SessionEventDraft } from '@jelmore/contracts';
import { OpencodeEventNormalizer } from './opencode-event.normalizer';
import {
  assistantDeltasByTurn,
  bySession,
  deepseek,
  expectedCost,
  fixtureEvents,
  ofType,
  partOf,
  replay,
} from './opencode-event.normalizer.spec-helpers';

// Recorded sessions B to D: a turn aborted, a model's HTTP 400, the server killed mid-stream.
describe('OpencodeEventNormalizer', () => {
  const [, sessionB, sessionC, sessionD] = bySession(fixtureEvents());

  describe('session B: a turn aborted with POST /abort, then one more turn', () => {
    const run = replay(sessionB, deepseek);

    it('sees session.idle twice after the abort but ends the turn once, as interrupted', () => {
      const [aborted, next] = run.turns;
      const idles = sessionB.filter((e) => e.type === 'session.idle');
      expect(idles).toHaveLength(3);
      expect(aborted).toEqual([
        { type: 'assistant', text: 'tok0 ' },
        { type: 'assistant', text: 'tok1 ' },
        { type: 'assistant', text: 'tok2 ' },
        // Aborted before its step finished: no usage event, a result with none.
        {
          type: 'result',
          text: 'tok0 tok1 tok2 ',
          durationMs: expect.any(Number),
          usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
          interrupted: true,
        },
      ]);
      expect(ofType(next, 'result')).toHaveLength(1);
      expect(ofType(run.drafts, 'result')).toHaveLength(2);
    });

    it('reports the abort (MessageAbortedError) as no error event', () => {
      const abortError = run.steps.find((s) => s.event.type === 'session.error');
      expect(abortError?.event.properties?.error).toMatchObject({ name: 'MessageAbortedError' });
      expect(abortError?.drafts).toEqual([]);
      expect(ofType(run.drafts, 'error')).toEqual([]);
    });

    it('does not repeat the aborted text when its part completes after the abort', () => {
      const late = run.steps.filter((s) => {
        const part = partOf(s.event);
        return part?.type === 'text' && part.text === 'tok0 tok1 tok2 ';
      });
      expect(late).toHaveLength(1);
      expect(late[0].drafts).toEqual([]);
    });

    it('runs the turn after the abort normally, not interrupted', () => {
      const [, next] = run.turns;
      const result = ofType(next, 'result')[0];
      expect(ofType(next, 'assistant').map((d) => d.text)).toEqual(
        assistantDeltasByTurn(sessionB)[1],
      );
      expect(result).toEqual({
        type: 'result',
        text: 'Echo: Are you still there after the abort?. This is the fake reply number 5.',
        durationMs: expect.any(Number),
        usage: {
          inputTokens: 105,
          outputTokens: 21,
          costUsd: expect.closeTo(expectedCost(deepseek, 105, 21), 12),
        },
      });
      expect(result).not.toHaveProperty('interrupted');
    });

    // An abort is followed by two idles; the second must not end the next turn, which starts in between.
    it('a queued prompt sent right after the interrupted result gets its own result', () => {
      const normalizer = new OpencodeEventNormalizer(deepseek);
      // The first turn starts with the session; the second as soon as the first one's result arrives.
      normalizer.startTurn(0);
      const drafts: SessionEventDraft[][] = [[]];
      let results = 0;
      for (const event of sessionB) {
        const out = normalizer.push(event, 100);
        drafts[drafts.length - 1].push(...out);
        if (out.some((d) => d.type === 'result') && ++results === 1) {
          normalizer.startTurn(50);
          drafts.push([]);
        }
      }
      expect(ofType(drafts[1], 'result')).toEqual([
        expect.objectContaining({
          text: 'Echo: Are you still there after the abort?. This is the fake reply number 5.',
          usage: expect.objectContaining({ inputTokens: 105, outputTokens: 21 }),
        }),
      ]);
    });
  });

  describe('session C: the model answers HTTP 400', () => {
    const run = replay(sessionC, deepseek);

    it('emits an AGENT_ERROR with the API message, then one result', () => {
      expect(run.turns).toHaveLength(1);
      expect(run.turns[0]).toEqual([
        { type: 'error', code: ErrorCode.AgentError, message: 'fake 400 error for testing' },
        {
          type: 'result',
          text: '',
          durationMs: expect.any(Number),
          usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
        },
      ]);
      expect(ErrorCode.AgentError).toBe('AGENT_ERROR');
    });

    it('ignores the second session.idle that follows the error', () => {
      const idles = run.steps.filter((s) => s.event.type === 'session.idle');
      expect(idles).toHaveLength(2);
      expect(idles[0].drafts.map((d) => d.type)).toEqual(['result']);
      expect(idles[1].drafts).toEqual([]);
    });

    // Same race as after an abort (see session B): the stale second idle ends a prompt queued behind it.
    it('a prompt started right after the failed turn’s result is not ended by the stale idle', () => {
      const normalizer = new OpencodeEventNormalizer(deepseek);
      normalizer.startTurn(0);
      let results = 0;
      for (const event of sessionC) {
        const out = normalizer.push(event, 100);
        if (out.some((d) => d.type === 'result') && ++results === 1) normalizer.startTurn(50);
      }
      expect(results).toBe(1);
      expect(normalizer.turnActive).toBe(true);
    });
  });

  describe('session D: the opencode server was killed mid-stream', () => {
    const run = replay(sessionD, deepseek);

    it('yields just the deltas seen, and no result for the turn that never ended', () => {
      expect(run.turns).toHaveLength(1);
      expect(run.drafts).toEqual([
        { type: 'assistant', text: 'tok0 ' },
        { type: 'assistant', text: 'tok1 ' },
        { type: 'assistant', text: 'tok2 ' },
      ]);
      expect(sessionD[sessionD.length - 1].type).toBe('message.part.delta');
    });
  });
});
