import { Logger, OnApplicationShutdown } from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { once } from 'node:events';
import { Subscription } from 'rxjs';
import type { Socket } from 'socket.io';
import {
  SessionStreamError,
  WS_NAMESPACE,
  WsAck,
  WsClientEvents,
  WsServerEvents,
} from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import { CreateSessionDto, SessionRefDto, SubscribeDto, WsInputDto } from '../api/session.dto';
import { toErrorBody } from '../common/error-body';
import { validateDto } from '../common/validation';
import { toObservable } from './event-stream';

/**
 * Engine.io packets (each one batch of up to commitMaxBatch events) queued for a socket before the
 * producer waits for it to drain: past this, a slow client's backlog builds in the log's bounded buffer.
 */
const MAX_QUEUED_PACKETS = 8;

@WebSocketGateway({ namespace: WS_NAMESPACE, cors: { origin: true } })
export class SessionsGateway implements OnGatewayDisconnect, OnApplicationShutdown {
  private readonly logger = new Logger(SessionsGateway.name);
  /** socket id → session id → its live subscription. */
  private readonly subscriptions = new Map<string, Map<string, Subscription>>();

  constructor(private readonly sessions: SessionsService) {}

  handleDisconnect(socket: Socket): void {
    for (const sub of this.subscriptions.get(socket.id)?.values() ?? []) sub.unsubscribe();
    this.subscriptions.delete(socket.id);
  }

  onApplicationShutdown(): void {
    for (const subs of this.subscriptions.values())
      for (const sub of subs.values()) sub.unsubscribe();
    this.subscriptions.clear();
  }

  @SubscribeMessage(WsClientEvents.create)
  create(@MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.create(validateDto(CreateSessionDto, payload).toInput()),
    }));
  }

  /** Replays from `after`, then live; replaces an earlier subscription of this socket to the session. */
  @SubscribeMessage(WsClientEvents.subscribe)
  subscribe(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, after } = validateDto(SubscribeDto, payload);
      const { lastSeq } = await this.sessions.get(sessionId);
      this.unsubscribeFrom(socket, sessionId);
      const stream = toObservable(
        async (signal) => (await this.sessions.stream(sessionId, after ?? 0, signal)).batches,
        (signal) => whenWritable(socket, signal),
      );
      const perSocket = this.subscriptions.get(socket.id) ?? new Map<string, Subscription>();
      this.subscriptions.set(socket.id, perSocket);
      const subscription = new Subscription();
      perSocket.set(sessionId, subscription);
      // Deferred so that the ack reaches the client before the first replayed batch.
      setImmediate(() => {
        if (subscription.closed) return;
        subscription.add(
          stream.subscribe({
            next: (batch) => socket.emit(WsServerEvents.events, batch),
            error: (err: unknown) => {
              const streamError: SessionStreamError = { sessionId, ...toErrorBody(err).body };
              socket.emit(WsServerEvents.error, streamError);
              this.forget(socket, sessionId, subscription);
            },
            complete: () => this.forget(socket, sessionId, subscription),
          }),
        );
      });
      return { lastSeq };
    });
  }

  @SubscribeMessage(WsClientEvents.unsubscribe)
  unsubscribe(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      this.unsubscribeFrom(socket, validateDto(SessionRefDto, payload).sessionId);
      return {};
    });
  }

  @SubscribeMessage(WsClientEvents.input)
  input(@MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, text } = validateDto(WsInputDto, payload);
      await this.sessions.input(sessionId, text);
      return {};
    });
  }

  @SubscribeMessage(WsClientEvents.interrupt)
  interrupt(@MessageBody() payload: unknown) {
    return ack(async () => {
      await this.sessions.interrupt(validateDto(SessionRefDto, payload).sessionId);
      return {};
    });
  }

  @SubscribeMessage(WsClientEvents.suspend)
  suspend(@MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.suspend(validateDto(SessionRefDto, payload).sessionId),
    }));
  }

  @SubscribeMessage(WsClientEvents.resume)
  resume(@MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.resume(validateDto(SessionRefDto, payload).sessionId),
    }));
  }

  @SubscribeMessage(WsClientEvents.terminate)
  terminate(@MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.terminate(validateDto(SessionRefDto, payload).sessionId),
    }));
  }

  private unsubscribeFrom(socket: Socket, sessionId: string): void {
    const perSocket = this.subscriptions.get(socket.id);
    perSocket?.get(sessionId)?.unsubscribe();
    perSocket?.delete(sessionId);
  }

  private forget(socket: Socket, sessionId: string, subscription: Subscription): void {
    const perSocket = this.subscriptions.get(socket.id);
    if (perSocket?.get(sessionId) === subscription) perSocket.delete(sessionId);
  }
}

/** Runs a handler and turns its outcome into the ack every client event gets. */
async function ack<T extends object>(handler: () => Promise<T>): Promise<WsAck<T>> {
  try {
    return { ok: true, ...(await handler()) };
  } catch (err) {
    return { ok: false, error: toErrorBody(err).body };
  }
}

async function whenWritable(socket: Socket, signal: AbortSignal): Promise<void> {
  const conn = socket.conn as unknown as { writeBuffer: unknown[] } & NodeJS.EventEmitter;
  if (conn.writeBuffer.length < MAX_QUEUED_PACKETS || signal.aborted) return;
  await once(conn, 'drain', { signal }).catch(() => undefined);
}
