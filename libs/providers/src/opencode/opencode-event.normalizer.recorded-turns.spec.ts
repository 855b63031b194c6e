import {
  assistantDeltasByTurn,
  bySession,
  catalog,
  deepseek,
  deltaOf,
  expectedCost,
  FixturePart,
  fixtureEvents,
  kimi,
  ofType,
  partOf,
  replay,
  stepFinishTokens,
} from './opencode-event.normalizer.spec-helpers';

// The recorded fixture, and its session A: two turns with reasoning, a tool call and two steps.
describe('OpencodeEventNormalizer', () => {
  const events = fixtureEvents();
  const sessions = bySession(events);
  const [sessionA] = sessions;

  it('the fixture holds the four recorded sessions', () => {
    expect(sessions).toHaveLength(4);
    expect(deepseek).toMatchObject({ inputPricePerMTok: 0.27, outputPricePerMTok: 1.1 });
    expect(kimi).toMatchObject({ inputPricePerMTok: 0.6, outputPricePerMTok: 2.5 });
    // Events without a session (server.connected, plugin.added, ...) are left out.
    expect(sessions.flat().length).toBeLessThan(events.length);
  });

  describe('session A: two turns, the second with reasoning, a bash tool call and two steps', () => {
    const run = replay(sessionA, deepseek);

    it('starts two turns and ends each with one result, after one usage per step (model call)', () => {
      expect(run.turns).toHaveLength(2);
      expect(run.turns.map((turn) => ofType(turn, 'usage').length)).toEqual([1, 2]);
      for (const turn of run.turns) {
        expect(ofType(turn, 'result')).toHaveLength(1);
        // The result is the turn's last draft, right after the last step's usage.
        expect(turn.slice(-2).map((d) => d.type)).toEqual(['usage', 'result']);
      }
      expect(ofType(run.drafts, 'error')).toEqual([]);
    });

    it('emits one assistant event per assistant text delta, in order', () => {
      const expected = assistantDeltasByTurn(sessionA);
      expect(expected.map((t) => t.length)).toEqual([6, 4]);
      expect(run.turns.map((turn) => ofType(turn, 'assistant').map((d) => d.text))).toEqual(
        expected,
      );
      // Each assistant-text delta yields exactly its own text, as it arrives.
      const { roles, partTypes } = catalog(sessionA);
      for (const step of run.steps) {
        const d = deltaOf(step.event);
        if (!d) continue;
        const isAssistantText =
          partTypes.get(d.partID) === 'text' && roles.get(d.messageID) === 'assistant';
        expect(step.drafts).toEqual(isAssistantText ? [{ type: 'assistant', text: d.delta }] : []);
      }
    });

    it('streams text that adds up to each final text part, and does not repeat it when the part completes', () => {
      const { roles } = catalog(sessionA);
      const finals = sessionA
        .map(partOf)
        .filter(
          (p): p is FixturePart =>
            p?.type === 'text' &&
            p.time?.end !== undefined &&
            roles.get(p.messageID) === 'assistant',
        );
      expect(finals.map((p) => p.text)).toEqual([
        'Echo: My name is Ada. Say hi.. This is the fake reply number 1.',
        'Running a command.',
        'The tool said: hello-from-tool',
      ]);
      const streamed = new Map<string, string>();
      for (const step of run.steps) {
        const d = deltaOf(step.event);
        if (d) {
          streamed.set(
            d.partID,
            (streamed.get(d.partID) ?? '') +
              ofType(step.drafts, 'assistant')
                .map((a) => a.text)
                .join(''),
          );
        }
        const part = partOf(step.event);
        if (part?.type === 'text' && part.time?.end !== undefined) {
          // The completed part brings nothing new: its text was streamed already.
          expect(step.drafts).toEqual([]);
          if (roles.get(part.messageID) === 'assistant')
            expect(streamed.get(part.id)).toBe(part.text);
        }
      }
    });

    it("never turns the user's text or the reasoning into assistant events", () => {
      const assistantText = ofType(run.drafts, 'assistant')
        .map((d) => d.text)
        .join('');
      expect(assistantText).not.toContain('Let me think');
      expect(assistantText).not.toContain('THINK TOOL');
      // The user's text parts and the reasoning part produce nothing at all.
      const { roles } = catalog(sessionA);
      for (const step of run.steps) {
        const part = partOf(step.event);
        if (part && (roles.get(part.messageID) === 'user' || part.type === 'reasoning')) {
          expect(step.drafts).toEqual([]);
        }
        const d = deltaOf(step.event);
        if (d && roles.get(d.messageID) === 'user') expect(step.drafts).toEqual([]);
      }
      // The fixture does hold reasoning deltas, so the check above is not vacuous.
      const reasoningDeltas = run.steps.filter((s) => {
        const d = deltaOf(s.event);
        return d !== undefined && catalog(sessionA).partTypes.get(d.partID) === 'reasoning';
      });
      expect(reasoningDeltas.map((s) => deltaOf(s.event)!.delta)).toEqual([
        'Let me think',
        ' about this',
        ' carefully.',
      ]);
      expect(reasoningDeltas.every((s) => s.drafts.length === 0)).toBe(true);
    });

    it('reports the bash call once as tool_use when it starts running, then once as tool_result', () => {
      const input = { command: 'echo hello-from-tool', description: 'Print a greeting' };
      expect(ofType(run.drafts, 'tool_use')).toEqual([
        { type: 'tool_use', id: 'call_fake_2', name: 'bash', input },
      ]);
      expect(ofType(run.drafts, 'tool_result')).toEqual([
        {
          type: 'tool_result',
          toolUseId: 'call_fake_2',
          output: 'hello-from-tool\n',
          isError: false,
        },
      ]);
      // The pending update (empty input) announces nothing; the first running one does.
      const toolSteps = run.steps.filter((s) => partOf(s.event)?.type === 'tool');
      const statuses = toolSteps.map(
        (s) => (partOf(s.event) as unknown as { state: { status: string } }).state.status,
      );
      expect(statuses).toEqual(['pending', 'running', 'running', 'running', 'completed']);
      expect(toolSteps.map((s) => s.drafts.map((d) => d.type))).toEqual([
        [],
        ['tool_use'],
        [],
        [],
        ['tool_result'],
      ]);
    });

    it('gives the second turn its events in the order they happened', () => {
      const [, second] = run.turns;
      const usage = {
        inputTokens: 205,
        outputTokens: 27,
        costUsd: expectedCost(deepseek, 205, 27),
      };
      const step = (inputTokens: number, outputTokens: number) => ({
        type: 'usage',
        inputTokens,
        outputTokens,
        costUsd: expect.closeTo(expectedCost(deepseek, inputTokens, outputTokens), 12),
      });
      expect(second).toEqual([
        { type: 'assistant', text: 'Running a command.' },
        {
          type: 'tool_use',
          id: 'call_fake_2',
          name: 'bash',
          input: { command: 'echo hello-from-tool', description: 'Print a greeting' },
        },
        {
          type: 'tool_result',
          toolUseId: 'call_fake_2',
          output: 'hello-from-tool\n',
          isError: false,
        },
        // The first step (the tool call) is priced as soon as it ends, before the second begins.
        step(102, 18),
        { type: 'assistant', text: 'The tool sai' },
        { type: 'assistant', text: 'd: hello-fro' },
        { type: 'assistant', text: 'm-tool' },
        step(103, 9),
        {
          type: 'result',
          // Every assistant text of the turn, across both steps, as streamed.
          text: 'Running a command.The tool said: hello-from-tool',
          durationMs: expect.any(Number),
          usage: { ...usage, costUsd: expect.closeTo(usage.costUsd, 12) },
        },
      ]);
    });

    it("counts each turn's usage as the sum of its step-finish tokens, priced by the given model", () => {
      const tokens = stepFinishTokens(sessionA);
      // Turn 1 had one step; turn 2 two (the tool call, then the answer).
      expect(tokens).toEqual([
        { input: 101, output: 18 },
        { input: 102 + 103, output: 18 + 9 },
      ]);
      const results = ofType(run.drafts, 'result');
      tokens.forEach(({ input, output }, i) => {
        const cost = expectedCost(deepseek, input, output);
        expect(results[i].usage.inputTokens).toBe(input);
        expect(results[i].usage.outputTokens).toBe(output);
        expect(results[i].usage.costUsd).toBeCloseTo(cost, 12);
        // The turn's usage events add up to its result's usage.
        const steps = ofType(run.turns[i], 'usage');
        expect(steps.reduce((n, u) => n + u.inputTokens, 0)).toBe(input);
        expect(steps.reduce((n, u) => n + u.outputTokens, 0)).toBe(output);
        expect(steps.reduce((n, u) => n + u.costUsd, 0)).toBeCloseTo(cost, 12);
      });
      expect(results[0].usage.costUsd).toBeCloseTo(0.00004707, 12);
    });

    it('prices the same tokens with whatever ModelInfo it was given', () => {
      const onKimi = replay(sessionA, kimi);
      const [first, second] = ofType(onKimi.drafts, 'result');
      expect(first.usage).toEqual({
        inputTokens: 101,
        outputTokens: 18,
        costUsd: expect.closeTo((101 * 0.6 + 18 * 2.5) / 1e6, 12),
      });
      expect(second.usage.costUsd).toBeCloseTo((205 * 0.6 + 27 * 2.5) / 1e6, 12);
    });

    it('ends each turn at the first session.idle after it started, with the text and duration', () => {
      const results = ofType(run.drafts, 'result');
      expect(results.map((r) => r.text)).toEqual([
        'Echo: My name is Ada. Say hi.. This is the fake reply number 1.',
        'Running a command.The tool said: hello-from-tool',
      ]);
      const idleSteps = run.steps.filter((s) => s.event.type === 'session.idle');
      expect(idleSteps).toHaveLength(2);
      idleSteps.forEach((step, i) => {
        expect(ofType(step.drafts, 'result')).toEqual([results[i]]);
        expect(results[i].durationMs).toBe(step.at - run.startedAt[i]);
        expect(results[i].durationMs).toBeGreaterThan(0);
        expect(results[i].interrupted).toBeUndefined();
      });
    });
  });
});
