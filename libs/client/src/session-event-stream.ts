import type { Socket } from 'socket.io-client';
import {
  TERMINAL_STATES,
  WsClientEvents,
  type SessionEvent,
  type SessionResource,
  type SessionStreamError,
  type SubscribeAck,
} from '@jelmore/contracts';
import { ClientErrorCode, JelmoreClientError, refusal } from './client-error';
import type { StreamOptions } from './client.types';

const DEFAULT_HIGH_WATER_MARK = 10_000;

/** What a stream borrows from the client that owns the socket. */
export interface StreamHost {
  readonly socket: Socket;
  readonly ackTimeoutMs: number;
  /** How long a stream waits for its connection to come back before it fails. */
  readonly reconnectWindowMs: number;
  getSession(id: string): Promise<SessionResource>;
  release(stream: SessionEventStream): void;
}

/**
 * One session's events, replayed from `after` and then live, as an AsyncIterable. It subscribes again
 * from the last seq it received after a reconnect, after the server says LAGGED, and after it paused a
 * slow consumer, so the consumer sees every seq once and in order. It ends after the event that takes
 * the session to `terminated` or `failed`, or when the session had already ended.
 */
export class SessionEventStream implements AsyncIterableIterator<SessionEvent> {
  /** Highest seq received (yielded or queued). */
  private received: number;
  private yielded: number;
  private readonly queue: SessionEvent[] = [];
  private readonly highWaterMark: number;
  private waiter?: () => void;
  private failure?: JelmoreClientError;
  /** Nothing more will be queued. */
  private ended = false;
  private closed = false;
  /** Unsubscribed until the consumer catches up. */
  private paused = false;
  /** Ignores acks of subscriptions that a later one replaced. */
  private generation = 0;
  /** The connection dropped after this stream had it, and has not come back yet. */
  private lost = false;
  private subscribeCount = 0;
  private disconnectTimer?: ReturnType<typeof setTimeout>;

  constructor(
    readonly sessionId: string,
    private readonly host: StreamHost,
    private readonly options: StreamOptions = {},
  ) {
    this.received = this.yielded = options.after ?? 0;
    this.highWaterMark = Math.max(2, options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK);
  }

  /** @internal Called by the client once it routes this session's events here. */
  start(): void {
    const signal = this.options.signal;
    if (signal?.aborted) return this.close();
    signal?.addEventListener('abort', () => this.close(), { once: true });
    if (this.host.socket.connected) void this.subscribe();
    else this.armDisconnectTimer();
  }

  /** The seq of the last event handed to the consumer. */
  get lastSeq(): number {
    return this.yielded;
  }

  /** How many times the stream subscribed: 1, plus one per reconnect, LAGGED or pause. */
  get subscriptions(): number {
    return this.subscribeCount;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<SessionEvent>> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        this.yielded = event.seq;
        if (this.paused && this.queue.length <= this.highWaterMark / 2) {
          this.paused = false;
          this.options.onPauseChange?.(false);
          void this.subscribe();
        }
        return { value: event, done: false };
      }
      if (this.failure) {
        const failure = this.failure;
        this.close();
        throw failure;
      }
      if (this.ended) {
        this.close();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  async return(): Promise<IteratorResult<SessionEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** Stops the stream and unsubscribes; events not yet consumed are dropped. */
  close(): void {
    if (this.closed) return;
    const live = !this.ended;
    this.closed = this.ended = true;
    this.queue.length = 0;
    clearTimeout(this.disconnectTimer);
    if (live && this.host.socket.connected) {
      this.host.socket.emit(WsClientEvents.unsubscribe, { sessionId: this.sessionId });
    }
    this.host.release(this);
    this.wake();
  }

  /** @internal Batches from the shared socket, already filtered to this session. */
  onEvents(events: SessionEvent[]): void {
    if (this.ended) return;
    for (const event of events) {
      // A replaced subscription may still deliver what the new one replays.
      if (event.seq <= this.received) continue;
      this.received = event.seq;
      this.queue.push(event);
      if (event.type === 'status' && TERMINAL_STATES.has(event.to)) {
        this.ended = true;
        break;
      }
    }
    if (!this.ended && !this.paused && this.queue.length >= this.highWaterMark) {
      this.paused = true;
      this.generation++;
      this.host.socket.emit(WsClientEvents.unsubscribe, { sessionId: this.sessionId });
      this.options.onPauseChange?.(true);
    }
    this.wake();
  }

  /** @internal `session:error` for this session: the server ended the subscription. */
  onStreamError(error: SessionStreamError): void {
    if (this.ended) return;
    if (error.code === 'LAGGED') void this.subscribe();
    else this.fail(JelmoreClientError.fromBody(error));
  }

  /** @internal */
  onConnect(): void {
    clearTimeout(this.disconnectTimer);
    this.disconnectTimer = undefined;
    if (this.lost) this.options.onConnectionChange?.(true);
    this.lost = false;
    void this.subscribe();
  }

  /** @internal */
  onDisconnect(): void {
    if (this.ended) return;
    // The server dropped this socket's subscriptions with it.
    this.generation++;
    if (!this.lost) this.options.onConnectionChange?.(false);
    this.lost = true;
    this.armDisconnectTimer();
  }

  /** @internal `active` is false when the server refused the handshake (no retry will follow). */
  onConnectError(error: Error & { data?: { code?: string } }, active: boolean): void {
    if (this.ended || active) return;
    this.fail(refusal(error));
  }

  private async subscribe(): Promise<void> {
    const socket = this.host.socket;
    if (this.ended || this.paused || !socket.connected) return;
    const generation = ++this.generation;
    const after = this.received;
    this.subscribeCount++;
    let ack: SubscribeAck;
    try {
      ack = (await socket.timeout(this.host.ackTimeoutMs).emitWithAck(WsClientEvents.subscribe, {
        sessionId: this.sessionId,
        after,
      })) as SubscribeAck;
    } catch {
      // Without a connection the next connect subscribes again; with one the server is stuck.
      if (socket.connected && generation === this.generation && !this.ended) {
        this.fail(
          new JelmoreClientError(
            ClientErrorCode.Timeout,
            `No answer to ${WsClientEvents.subscribe} within ${this.host.ackTimeoutMs} ms`,
          ),
        );
      }
      return;
    }
    if (generation !== this.generation || this.ended) return;
    if (!ack.ok) {
      this.fail(JelmoreClientError.fromBody(ack.error));
      return;
    }
    if (ack.lastSeq > after) return;
    // Nothing to replay: an ended session sends nothing more, so ask whether it has ended.
    try {
      const session = await this.host.getSession(this.sessionId);
      if (TERMINAL_STATES.has(session.state) && session.lastSeq <= this.received && !this.ended) {
        this.ended = true;
        this.wake();
      }
    } catch (err) {
      this.fail(
        err instanceof JelmoreClientError
          ? err
          : new JelmoreClientError(ClientErrorCode.Network, String(err)),
      );
    }
  }

  private armDisconnectTimer(): void {
    if (this.disconnectTimer || this.ended) return;
    this.disconnectTimer = setTimeout(() => {
      this.fail(
        new JelmoreClientError(
          ClientErrorCode.Disconnected,
          `No connection to the server for ${this.host.reconnectWindowMs} ms`,
        ),
      );
    }, this.host.reconnectWindowMs);
    this.disconnectTimer.unref?.();
  }

  private fail(error: JelmoreClientError): void {
    if (this.ended) return;
    this.failure = error;
    this.ended = true;
    clearTimeout(this.disconnectTimer);
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
