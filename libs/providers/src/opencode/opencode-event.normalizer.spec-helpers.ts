import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelInfo, SessionEventDraft } from '@jelmore/contracts';
import { OpencodeEvent, OpencodeEventNormalizer } from './opencode-event.normalizer';
import { opencodeModels } from './opencode.models';

// What the OpencodeEventNormalizer specs share: the recorded fixture, a replayer, event readers.

/**
 * The recorded opencode SSE stream (`data: {json}` lines of `/event?directory=...`). In order: session A
 * (two turns, the second on Kimi with reasoning, a bash tool call and two steps), session B (a turn
 * aborted with POST /abort, then one more turn), session C (HTTP 400 from the model), session D (the
 * server was kill -9'd after three deltas).
 */
export function fixtureEvents(): OpencodeEvent[] {
  return readFileSync(join(__dirname, '__fixtures__', 'two-turns.sse'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => JSON.parse(line.slice('data: '.length)) as OpencodeEvent);
}

/** Events that belong to a session, grouped by sessionID in order of first appearance. */
export function bySession(events: OpencodeEvent[]): OpencodeEvent[][] {
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

export interface Replay {
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
export function replay(events: OpencodeEvent[], model: ModelInfo): Replay {
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

export function ofType<T extends SessionEventDraft['type']>(
  drafts: SessionEventDraft[],
  type: T,
): Extract<SessionEventDraft, { type: T }>[] {
  return drafts.filter((d): d is Extract<SessionEventDraft, { type: T }> => d.type === type);
}

export interface FixturePart {
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

export function partOf(event: OpencodeEvent): FixturePart | undefined {
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

export function deltaOf(event: OpencodeEvent): Delta | undefined {
  return event.type === 'message.part.delta' ? (event.properties as unknown as Delta) : undefined;
}

/** Roles of the fixture's messages and types of its parts, read straight from the events. */
export function catalog(events: OpencodeEvent[]) {
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
export function assistantDeltasByTurn(events: OpencodeEvent[]): string[][] {
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
export function stepFinishTokens(events: OpencodeEvent[]): { input: number; output: number }[] {
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

export function expectedCost(model: ModelInfo, input: number, output: number): number {
  return (input * model.inputPricePerMTok + output * model.outputPricePerMTok) / 1e6;
}

const models = opencodeModels({});
export const deepseek = models.find((m) => m.id === 'deepseek-chat')!;
export const kimi = models.find((m) => m.id === 'kimi-k2-0905-preview')!;
