import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable, type Observable } from 'rxjs';
import type { ServerOptions, Socket } from 'socket.io';
import {
  ErrorBody,
  ErrorCode,
  JelmoreError,
  NotFoundError,
  WS_NAMESPACE,
  WsAck,
} from '@jelmore/contracts';
import { toErrorBody } from '../common/error-body';
import { CommandTurns } from './command-turns';
import { loggedEventsParser } from './event-encoder';
import { eventAdmissionOf } from './ws-rate-limit';

/** Socket.IO with the configured CORS allow-list, a bound on message size, and only /sessions open. */
export class ConfiguredIoAdapter extends IoAdapter {
  /** Every socket's admitted commands, started one per turn of the event loop. */
  private readonly turns = new CommandTurns((err) => this.logger.error(err));

  constructor(
    app: INestApplicationContext,
    private readonly corsOrigins: string[],
    private readonly maxMessageBytes: number,
    /** Cluster mode: the Redis adapter that carries broadcasts and server-side emits between nodes. */
    private readonly clusterAdapter?: ServerOptions['adapter'],
  ) {
    super(app);
  }

  override createIOServer(
    port: number,
    options?: Parameters<IoAdapter['createIOServer']>[1],
  ): ReturnType<IoAdapter['createIOServer']> {
    const server = super.createIOServer(port, {
      ...options,
      ...(this.corsOrigins.length ? { cors: { origin: this.corsOrigins } } : {}),
      ...(this.clusterAdapter ? { adapter: this.clusterAdapter } : {}),
      maxHttpBufferSize: this.maxMessageBytes,
      parser: loggedEventsParser,
    } as Parameters<IoAdapter['createIOServer']>[1]);
    // Clients talk to /sessions, whose handshake checks the key; the root namespace would take anyone.
    server
      .of('/')
      .use((_socket, next) =>
        next(
          connectError(
            new NotFoundError(`The root namespace is closed: connect to ${WS_NAMESPACE}`),
          ),
        ),
      );
    return server;
  }

  /**
   * One `onAny` listener per socket that dispatches to the gateway's handlers. Nest's IoAdapter builds
   * an RxJS pipeline per handler per socket (fromEvent → mergeMap → takeUntil: four subscribers and
   * some thirty closures each), about 30 KB of heap per connection for our nine messages.
   * Same contract: each handler's result (a promise or an observable) is the ack, or `{ event, data }`
   * is emitted; a failure is logged. Three additions: the socket's rate limit is checked as the event
   * arrives (socket.io runs `onAny` before `socket.use` middleware, so only here can it stop one), an
   * event with no handler that asked for an ack is answered UNKNOWN_EVENT, and handlers start one per
   * turn of the event loop, each socket's in arrival order (see CommandTurns).
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    const byMessage = new Map(handlers.map((h) => [h.message as string, h]));
    const route = (message: string, args: unknown[]) => {
      const handler = byMessage.get(message);
      if (handler) this.turns.enqueue(socket, () => this.dispatch(socket, handler, args));
      else answerUnknown(message, args, byMessage.keys());
    };
    const admit = eventAdmissionOf(socket);
    socket.onAny((message: string, ...args: unknown[]) => {
      if (!admit) return route(message, args);
      const verdict = admit(args);
      if (verdict === true) route(message, args);
      else if (verdict !== false) void verdict.then((ok) => ok && route(message, args));
    });
  }

  private dispatch(socket: Socket, handler: MessageMappingProperties, args: unknown[]): void {
    // As Nest's fromEvent gives it: one argument alone, several as an array (the ack last).
    const { data, ack } = this.mapPayload(args.length === 1 ? args[0] : args) as {
      data: unknown;
      ack?: (r: unknown) => void;
    };
    const reply = (response: unknown) => {
      if (response === undefined || response === null) return;
      const asEvent = response as { event?: string; data?: unknown };
      if (asEvent.event) socket.emit(asEvent.event, asEvent.data);
      else if (!handler.isAckHandledManually && typeof ack === 'function') ack(response);
    };
    const fail = (err: unknown) => this.logger.error(err);
    try {
      Promise.resolve((handler.callback as (...a: unknown[]) => unknown)(data, ack)).then(
        (result: unknown) => {
          if (isObservable(result)) result.subscribe({ next: reply, error: fail });
          else reply(result);
        },
        fail,
      );
    } catch (err) {
      fail(err);
    }
  }
}

/** The error a refused handshake gives the client as connect_error: its message, and the body as `data`. */
export function connectError(err: JelmoreError): Error & { data: ErrorBody } {
  return Object.assign(new Error(err.message), { data: toErrorBody(err).body });
}

/** Answers an event no handler takes, if it asked for an ack: silence would leave the client waiting. */
function answerUnknown(message: string, args: unknown[], known: Iterable<string>): void {
  const ack = args[args.length - 1];
  if (typeof ack !== 'function') return;
  const name = String(message).slice(0, 64);
  const error = new JelmoreError(
    ErrorCode.UnknownEvent,
    `Unknown event '${name}'; the events are ${[...known].join(', ')}`,
  );
  (ack as (answer: WsAck) => void)({ ok: false, error: toErrorBody(error).body });
}
