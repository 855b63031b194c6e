import { Observable, Subject } from 'rxjs';
import { ErrorCode, type SessionEvent, type SessionEventDraft } from '@jelmore/contracts';
import { awaitResult, WaitProgress, type TurnWait } from './turn-waiter';

const usage = { inputTokens: 1, outputTokens: 2, costUsd: 0.5 };
let seq = 0;
const event = (draft: SessionEventDraft): SessionEvent => ({
  sessionId: 's1',
  seq: ++seq,
  ts: '2026-01-01T00:00:00.000Z',
  ...draft,
});
const result = (text: string) => event({ type: 'result', text, durationMs: 5, usage });
const user = () => event({ type: 'user', content: [{ type: 'text', text: 'next' }] });
const assistant = (text: string) => event({ type: 'assistant', text });

describe('awaitResult', () => {
  let batches: Subject<SessionEvent[]>;
  let subscribed: number;
  let stream: Observable<SessionEvent[]>;

  beforeEach(() => {
    seq = 0;
    batches = new Subject();
    subscribed = 0;
    stream = new Observable((subscriber) => {
      subscribed++;
      const inner = batches.subscribe(subscriber);
      return () => {
        subscribed--;
        inner.unsubscribe();
      };
    });
  });

  const wait = (overrides: Partial<TurnWait> = {}): TurnWait => ({
    sessionId: 's1',
    after: 0,
    timeoutMs: 60_000,
    signal: new AbortController().signal,
    ...overrides,
  });

  it('resolves with the first result, leaving the stream', async () => {
    const onEvents = jest.fn();
    const waiting = awaitResult(stream, wait({ onEvents }));
    batches.next([assistant('he'), assistant('llo')]);
    batches.next([result('hello'), result('later')]);
    await expect(waiting).resolves.toMatchObject({ type: 'result', text: 'hello', seq: 3 });
    expect(onEvents).toHaveBeenCalledTimes(2);
    expect(subscribed).toBe(0);
  });

  it('takes a result replayed as it subscribes', async () => {
    const replayed = result('done already');
    const waiting = awaitResult(new Observable<SessionEvent[]>((s) => s.next([replayed])), wait());
    await expect(waiting).resolves.toBe(replayed);
  });

  it("with ownTurn, skips the result of the turn running before the input's own", async () => {
    const waiting = awaitResult(stream, wait({ ownTurn: true }));
    batches.next([assistant('old'), result('the running turn')]);
    batches.next([user(), assistant('new')]);
    batches.next([result('the input’s turn')]);
    await expect(waiting).resolves.toMatchObject({ text: 'the input’s turn' });
  });

  it('fails with WAIT_TIMEOUT when no result comes in time, naming where it got to', async () => {
    jest.useFakeTimers();
    try {
      const waiting = awaitResult(stream, wait({ after: 4, timeoutMs: 2000 }));
      seq = 4;
      batches.next([assistant('a'), assistant('b')]);
      jest.advanceTimersByTime(2000);
      await expect(waiting).rejects.toMatchObject({
        code: ErrorCode.WaitTimeout,
        details: { sessionId: 's1', lastSeq: 6, events: 2 },
      });
      expect(subscribed).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('fails with SESSION_NOT_ACTIVE when the session ends first, with its last error', async () => {
    const waiting = awaitResult(stream, wait());
    batches.next([event({ type: 'error', code: 'AGENT_EXITED', message: 'exit 1' })]);
    batches.complete();
    await expect(waiting).rejects.toMatchObject({
      code: ErrorCode.SessionNotActive,
      message: "Session s1 ended before its turn's result: AGENT_EXITED: exit 1",
      details: { error: { code: 'AGENT_EXITED', message: 'exit 1' } },
    });
  });

  it('stops when the caller gives up', async () => {
    const caller = new AbortController();
    const waiting = awaitResult(stream, wait({ signal: caller.signal }));
    expect(subscribed).toBe(1);
    caller.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    expect(subscribed).toBe(0);
    await expect(awaitResult(stream, wait({ signal: caller.signal }))).rejects.toThrow(
      'client gone',
    );
    expect(subscribed).toBe(0);
  });
});

describe('WaitProgress', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('reports the seconds waited (always growing) and the events so far, until stopped', () => {
    const reports: Array<[number, string]> = [];
    const progress = new WaitProgress((p, message) => reports.push([p, message]), 1000);
    jest.advanceTimersByTime(1000);
    progress.seen([assistant('a'), assistant('b')]);
    progress.seen([]);
    jest.advanceTimersByTime(1000);
    jest.advanceTimersByTime(1000);
    progress.stop();
    jest.advanceTimersByTime(5000);
    expect(reports).toEqual([
      [1, '0 events in 1 s'],
      [2, '2 events in 2 s, the last: assistant'],
      [3, '2 events in 3 s, the last: assistant'],
    ]);
  });
});
