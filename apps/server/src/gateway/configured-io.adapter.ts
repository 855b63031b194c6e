import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable, type Observable } from 'rxjs';
import type { ServerOptions, Socket } from 'socket.io';
import { loggedEventsParser } from './event-encoder';

/** Socket.IO with the configured CORS allow-list and a bound on message size. */
export class ConfiguredIoAdapter extends IoAdapter {
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
    return super.createIOServer(port, {
      ...options,
      ...(this.corsOrigins.length ? { cors: { origin: this.corsOrigins } } : {}),
      ...(this.clusterAdapter ? { adapter: this.clusterAdapter } : {}),
      maxHttpBufferSize: this.maxMessageBytes,
      parser: loggedEventsParser,
    } as Parameters<IoAdapter['createIOServer']>[1]);
  }

  /**
   * One `onAny` listener per socket that dispatches to the gateway's handlers. Nest's IoAdapter builds
   * an RxJS pipeline per handler per socket (fromEvent → mergeMap → takeUntil: four subscribers and
   * some thirty closures each), about 30 KB of heap per connection for our nine messages.
   * Same contract: each handler's result (a promise or an observable) is the ack, or `{ event, data }`
   * is emitted; a failure is logged.
   */
  override bindMessageHandlers(
    socket: Socket,
    handlers: MessageMappingProperties[],
    _transform: (data: unknown) => Observable<unknown>,
  ): void {
    const byMessage = new Map(handlers.map((h) => [h.message as string, h]));
    socket.onAny((message: string, ...args: unknown[]) => {
      const handler = byMessage.get(message);
      if (handler) this.dispatch(socket, handler, args);
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
