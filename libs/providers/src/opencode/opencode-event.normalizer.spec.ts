import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, ModelInfo, SessionEventDraft } from '@jelmore/contracts';
import { OpencodeEvent, OpencodeEventNormalizer } from './opencode-event.normalizer';
import { opencodeModels } from './opencode.models';

/**
 * The recorded opencode SSE stream (`data: {json}` lines of `/event?directory=...`). In order: session A
 * (two turns, the second on Kimi with reasoning, a bash tool call and two steps), session B (a turn
 * aborted with POST /abort, then one more turn), session C (HTTP 400 from the model), session D (the
 * server was kill -9'd after three deltas).
 */
function fixtureEvents(): OpencodeEvent[] {
  return readFileSync(join(__dirname, '__fixtures__', 'two-turns.sse'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as OpencodeEvent);
}

/** Events that belong to a session, grouped by sessionID in order of first appearance. */
function bySession(events: OpencodeEvent[]): OpencodeEvent[][] {
  const sessions = new Map<string, OpencodeEvent[]>();
  for (const event of events) {
    const id = event.properties?.sessionID;
    if (!id) continue;
    if (!sessions.has(id)) sessions.set(id, []);
    sessions.get(id)!.push(event);
  }
  return [...sessions.values()];
}

interface Step {
  event: OpencodeEvent;
  at: number;
  drafts: SessionEventDraft[];
}

interface Replay {
  steps: Step[];
  /** Every draft the normalizer produced, in order. */
  drafts: SessionEventDraft[];
  /** The drafts of each turn, from its startTurn to the next one. */
  turns: SessionEventDraft[][];
  /** The `now` each turn was started with. */
  startedAt: number[];
}

/** The event's `message.updated` info when it announces a user message. */
function userMessageId(event: OpencodeEvent): string | undefined {
  if (event.type !== 'message.updated') return undefined;
  const info = event.properties?.info as { id?: string; role?: string } | undefined;
  return info?.role === 'user' ? info.id : undefined;
}

const TICK_MS = 7;

/**
 * Replays one session through a fresh normalizer, as OpencodeSession does: startTurn right before the
 * events of each turn begin (at a user message not seen before). Event i happens at i * TICK_MS.
 */
function replay(events: OpencodeEvent[], model: ModelInfo): Replay {
  const normalizer = new OpencodeEventNormalizer(model);
  const seenUserMessages = new Set<string>();
  const result: Replay = { steps: [], drafts: [], turns: [], startedAt: [] };
  events.forEach((event, i) => {
    const at = 1_000 + i * TICK_MS;
    const user = userMessageId(event);
    if (user && !seenUserMessages.has(user)) {
      seenUserMessages.add(user);
      normalizer.startTurn(at);
      result.turns.push([]);
      result.startedAt.push(at);
    }
    const drafts = normalizer.push(event, at);
    result.steps.push({ event, at, drafts });
    result.drafts.push(...drafts);
    if (drafts.length > 0) {
      expect(result.turns.length).toBeGreaterThan(0);
      result.turns[result.turns.length - 1].push(...drafts);
    }
  });
  return result;
}

function ofType<T extends SessionEventDraft['type']>(
  drafts: SessionEventDraft[],
  type: T,
): Extract<SessionEventDraft, { type: T }>[] {
  return drafts.filter((d): d is Extract<SessionEventDraft, { type: T }> => d.type === type);
}

interface FixturePart {
  id: string;
  messageID: string;
  type: string;
  text?: string;
  time?: { end?: number };
  tokens?: {
    input: number;
    output: number;
    reasoning: number;
    cache: { read: number; write: number };
  };
}

function partOf(event: OpencodeEvent): FixturePart | undefined {
  return event.type === 'message.part.updated'
    ? (event.properties?.part as FixturePart)
    : undefined;
}

interface Delta {
  messageID: string;
  partID: string;
  field: string;
  delta: string;
}

function deltaOf(event: OpencodeEvent): Delta | undefined {
  return event.type === 'message.part.delta' ? (event.properties as unknown as Delta) : undefined;
}

/** Roles of the fixture's messages and types of its parts, read straight from the events. */
function catalog(events: OpencodeEvent[]) {
  const roles = new Map<string, string>();
  const partTypes = new Map<string, string>();
  for (const event of events) {
    if (event.type === 'message.updated') {
      const info = event.properties?.info as { id: string; role: string };
      roles.set(info.id, info.role);
    }
    const part = partOf(event);
    if (part) partTypes.set(part.id, part.type);
  }
  return { roles, partTypes };
}

/** Deltas of assistant text parts, split into turns at each new user message. */
function assistantDeltasByTurn(events: OpencodeEvent[]): string[][] {
  const { roles, partTypes } = catalog(events);
  const seen = new Set<string>();
  const turns: string[][] = [];
  for (const event of events) {
    const user = userMessageId(event);
    if (user && !seen.has(user)) {
      seen.add(user);
      turns.push([]);
    }
    const d = deltaOf(event);
    if (d && partTypes.get(d.partID) === 'text' && roles.get(d.messageID) === 'assistant') {
      turns[turns.length - 1].push(d.delta);
    }
  }
  return turns;
}

/** Sum of a turn's step-finish tokens, as the normalizer is meant to count them. */
function stepFinishTokens(events: OpencodeEvent[]): { input: number; output: number }[] {
  const seen = new Set<string>();
  const turns: { input: number; output: number }[] = [];
  for (const event of events) {
    const user = userMessageId(event);
    if (user && !seen.has(user)) {
      seen.add(user);
      turns.push({ input: 0, output: 0 });
    }
    const part = partOf(event);
    if (part?.type === 'step-finish' && part.tokens) {
      const t = part.tokens;
      turns[turns.length - 1].input += t.input + t.cache.read + t.cache.write;
      turns[turns.length - 1].output += t.output + t.reasoning;
    }
  }
  return turns;
}

function expectedCost(model: ModelInfo, input: number, output: number): number {
  return (input * model.inputPricePerMTok + output * model.outputPricePerMTok) / 1e6;
}

const models = opencodeModels({});
const deepseek = models.find((m) => m.id === 'deepseek-chat')!;
const kimi = models.find((m) => m.id === 'kimi-k2-0905-preview')!;

describe('OpencodeEventNormalizer', () => {
  const events = fixtureEvents();
  const sessions = bySession(events);
  const [sessionA, sessionB, sessionC, sessionD] = sessions;

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
