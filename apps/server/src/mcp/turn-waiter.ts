import {
  firstValueFrom,
  first,
  fromEvent,
  mergeMap,
  takeUntil,
  tap,
  throwError,
  timeout,
  type Observable,
} from 'rxjs';
import {
  ErrorCode,
  JelmoreError,
  type ErrorEvent,
  type EventEnvelope,
  type ResultEvent,
  type SessionEvent,
} from '@jelmore/contracts';

export type LoggedResult = EventEnvelope & ResultEvent;

/** How often a wait reports progress (when the caller asked for it). */
export const PROGRESS_INTERVAL_MS = 1000;

export interface TurnWait {
  sessionId: string;
  /** The events to watch are those after this seq (the stream starts there). */
  after: number;
  /**
   * Only a result after a `user` event counts: the turn that an input starts, not the one that was
   * running when it was queued.
   */
  ownTurn?: boolean;
  timeoutMs: number;
  /** The caller gave up: the wait ends with the signal's reason. */
  signal: AbortSignal;
  /** Each batch of events as it commits. */
  onEvents?: (batch: readonly SessionEvent[]) => void;
}

/**
 * The first awaited `result` of a session's event stream (see SessionsService.stream: the replay after
 * `after`, then live batches as they commit; no polling). Fails with WAIT_TIMEOUT when none comes in
 * time (the session goes on), and with SESSION_NOT_ACTIVE when the session ends first.
 */
export async function awaitResult(
  events: Observable<SessionEvent[]>,
  wait: TurnWait,
): Promise<LoggedResult> {
  wait.signal.throwIfAborted();
  let lastSeq = wait.after;
  let seen = 0;
  let turnStarted = !wait.ownTurn;
  let lastError: ErrorEvent | undefined;
  const isAwaited = (event: SessionEvent): event is SessionEvent & LoggedResult => {
    lastSeq = event.seq;
    if (event.type === 'user') turnStarted = true;
    if (event.type === 'error') lastError = event;
    return event.type === 'result' && turnStarted;
  };
  const timedOut = () =>
    new JelmoreError(
      ErrorCode.WaitTimeout,
      `No result from session ${wait.sessionId} within ${wait.timeoutMs / 1000} s; it goes on ` +
        `(${seen} events so far, the last seq ${lastSeq}): wait again, or read its events`,
      { sessionId: wait.sessionId, lastSeq, events: seen },
    );
  const result = await firstValueFrom(
    events.pipe(
      tap((batch) => {
        seen += batch.length;
        wait.onEvents?.(batch);
      }),
      mergeMap((batch) => batch),
      first(isAwaited, undefined),
      timeout({ first: wait.timeoutMs, with: () => throwError(timedOut) }),
      takeUntil(fromEvent(wait.signal, 'abort')),
    ),
    { defaultValue: undefined },
  );
  wait.signal.throwIfAborted();
  if (result) return result;
  const why = lastError ? `: ${lastError.code}: ${lastError.message}` : '';
  throw new JelmoreError(
    ErrorCode.SessionNotActive,
    `Session ${wait.sessionId} ended before its turn's result${why}`,
    {
      sessionId: wait.sessionId,
      ...(lastError ? { error: { code: lastError.code, message: lastError.message } } : {}),
    },
  );
}

/**
 * Progress of a wait, reported every `intervalMs`: `progress` is the seconds waited (it must grow with
 * each notification, which an event count need not), the message counts the events so far. Reporting
 * while nothing happens also keeps clients that reset their timeout on progress from giving up.
 */
export class WaitProgress {
  private readonly startedAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private events = 0;
  private last: string | undefined;

  constructor(
    private readonly report: (progress: number, message: string) => void,
    intervalMs = PROGRESS_INTERVAL_MS,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
  }

  seen(batch: readonly SessionEvent[]): void {
    this.events += batch.length;
    this.last = batch.at(-1)?.type ?? this.last;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const seconds = Math.round((Date.now() - this.startedAt) / 100) / 10;
    const last = this.last ? `, the last: ${this.last}` : '';
    this.report(seconds, `${this.events} events in ${seconds} s${last}`);
  }
}
