import {
  type AgentInput,
  type AgentSession,
  type SessionEventDraft,
  textInput,
} from '@jelmore/contracts';
import { startingRecord } from '../store/session-record';
import { CachingAgent, type TurnCache } from './caching-agent';
import { ResponseCache } from './response-cache';

/** An agent that answers each turn with its text, and counts what it was given. */
class EchoAgent implements AgentSession {
  readonly id = 'echo';
  readonly model = 'm';
  readonly given: string[] = [];
  started = 0;
  private readonly pending: SessionEventDraft[] = [];
  private wake?: () => void;
  private ended = false;

  async start(input: AgentInput): Promise<void> {
    this.started += 1;
    await this.send(input);
  }
  async send(input: AgentInput): Promise<void> {
    const text = input.map((b) => (b.type === 'text' ? b.text : '')).join('');
    this.given.push(text);
    this.emit({ type: 'usage', inputTokens: 1, outputTokens: 2, costUsd: 0.25 });
    this.emit({ type: 'assistant', text: `re: ${text}` });
    this.emit({
      type: 'result',
      text: `re: ${text}`,
      durationMs: 5,
      usage: { inputTokens: 1, outputTokens: 2, costUsd: 0.25 },
    });
  }
  async *events(): AsyncIterable<SessionEventDraft> {
    for (;;) {
      const next = this.pending.shift();
      if (next) yield next;
      else if (this.ended) return;
      else await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
  async interrupt(): Promise<void> {}
  async terminate(): Promise<void> {
    this.ended = true;
    this.wake?.();
  }
  suspend = jest.fn();
  resume = jest.fn();
  private emit(event: SessionEventDraft): void {
    this.pending.push(event);
    this.wake?.();
  }
}

describe('CachingAgent', () => {
  const record = startingRecord({
    id: 's',
    owner: null,
    provider: 'p',
    model: 'm',
    cwd: '/w',
    nodeId: 'n',
    maxBudgetUsd: null,
    permissions: 'deny-writes',
    title: null,
  });
  let store: ResponseCache;
  let files: string | undefined;
  let cache: TurnCache;

  beforeEach(() => {
    store = new ResponseCache({ ttlSeconds: 60, maxEntries: 10, maxBytes: 1 << 20 });
    files = 'tree-1';
    cache = {
      keyOf: async (_record, previous, input) => files && JSON.stringify([files, previous, input]),
      get: (key) => store.get(key),
      set: (key, events, cost) => store.set(key, events, cost),
    };
  });

  /** Runs `turns` on a new session's agent; its events per turn, up to each result. */
  async function session(...turns: string[]) {
    const inner = new EchoAgent();
    const agent = new CachingAgent(inner, record, cache);
    const iterator = agent.events()[Symbol.asyncIterator]();
    const results: SessionEventDraft[][] = [];
    for (const [i, text] of turns.entries()) {
      await (i === 0 ? agent.start(textInput(text)) : agent.send(textInput(text)));
      const events: SessionEventDraft[] = [];
      for (;;) {
        const { value } = await iterator.next();
        events.push(value as SessionEventDraft);
        if (events.at(-1)!.type === 'result') break;
      }
      results.push(events);
    }
    await agent.terminate();
    expect(await iterator.next()).toMatchObject({ done: true });
    return { inner, results };
  }

  it('replays a recorded history turn by turn, with no usage, and never starts the agent', async () => {
    const first = await session('q1', 'q2');
    expect(first.inner.given).toEqual(['q1', 'q2']);
    const again = await session('q1', 'q2');
    expect(again.inner.started).toBe(0);
    expect(again.results[1]).toEqual([
      { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0 },
      { type: 'assistant', text: 're: q2' },
      {
        type: 'result',
        text: 're: q2',
        durationMs: 0,
        usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
        cached: true,
      },
    ]);
    expect(store.stats).toEqual({ hits: 2, misses: 2, savedUsd: 0.5 });
  });

  it('keys each turn by the ones before: the same question after another is a miss', async () => {
    await session('q1', 'q2');
    const other = await session('q2');
    expect(other.inner.given).toEqual(['q2']);
  });

  it('starts the agent at the first miss after a hit, and caches nothing more', async () => {
    await session('q1');
    const mixed = await session('q1', 'q3', 'q4');
    expect(mixed.inner.given).toEqual(['q3', 'q4']);
    expect(mixed.inner.started).toBe(1);
    const again = await session('q1', 'q3');
    expect(again.inner.given).toEqual(['q3']);
  });

  it('neither looks up nor records a turn whose files cannot be hashed', async () => {
    files = undefined;
    await session('q1');
    const again = await session('q1');
    expect(again.inner.given).toEqual(['q1']);
    expect(store.stats).toEqual({ hits: 0, misses: 0, savedUsd: 0 });
  });
});
