import { Logger, OnApplicationShutdown, OnModuleDestroy, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayDisconnect,
  OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import { once } from 'node:events';
import { Subscription } from 'rxjs';
import type { Namespace, Socket } from 'socket.io';
import {
  ErrorCode,
  JelmoreError,
  SessionStreamError,
  WS_NAMESPACE,
  WsAck,
  WsClientEvents,
  WsServerEvents,
} from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import {
  CreateSessionDto,
  SessionRefDto,
  SubscribeDto,
  WsInputDto,
  WsForkDto,
  WsPermissionReplyDto,
  WsRewindDto,
} from '../api/session.dto';
import {
  ApiKeysService,
  LOCAL_PRINCIPAL,
  Principal,
  shareTokenRefusal,
} from '../auth/api-keys.service';
import { AuthFailureLimiter } from '../auth/auth-failure-limiter';
import { clientAddress, TrustProxy } from '../common/client-address';
import { toErrorBody } from '../common/error-body';
import { validateDto } from '../common/validation';
import { JelmoreConfig } from '../config/jelmore.config';
import { ClusterService } from '../cluster/cluster.service';
import { connectError } from './configured-io.adapter';
import { WsRateLimiter } from './ws-rate-limit';

/**
 * Engine.io packets (each one batch of up to commitMaxBatch events) queued for a socket before the
 * producer waits for it to drain: past this, a slow client's backlog builds in the log's bounded buffer.
 */
const MAX_QUEUED_PACKETS = 8;

// CORS and payload limits come from the adapter (see app.setup.ts), which reads the configuration.
@WebSocketGateway({ namespace: WS_NAMESPACE })
export class SessionsGateway
  implements OnGatewayInit<Namespace>, OnGatewayDisconnect, OnModuleDestroy, OnApplicationShutdown
{
  private namespace?: Namespace;
  private readonly logger = new Logger(SessionsGateway.name);
  /** socket id → session id → its subscription to the session's committed batches. */
  private readonly subscriptions = new Map<string, Map<string, Subscription>>();
  private readonly rateLimiter: WsRateLimiter;
  private readonly authFailures: AuthFailureLimiter;

  constructor(
    private readonly sessions: SessionsService,
    private readonly keys: ApiKeysService,
    config: JelmoreConfig,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    private readonly http: HttpAdapterHost,
    // Provided only in cluster mode (JELMORE_REDIS_URL).
    @Optional() private readonly cluster?: ClusterService,
  ) {
    // The REST limit per key applies to a key's Socket.IO events as a whole: one setting for both.
    this.rateLimiter = new WsRateLimiter(
      storage,
      config.rateLimitPerMinute,
      config.rateLimitWindowSeconds * 1000,
      config.rateLimitBurst,
    );
    // Counted in the same storage as the REST guard's, so both transports share an address's failures.
    this.authFailures = new AuthFailureLimiter(
      storage,
      config.authFailureLimit,
      config.rateLimitWindowSeconds * 1000,
    );
  }

  /** Express's compiled `trust proxy` (set by configureApp from JELMORE_TRUST_PROXY), if any. */
  private trustProxy(): TrustProxy | undefined {
    const express = this.http.httpAdapter?.getInstance<{ get(name: string): unknown }>();
    const trust = express?.get('trust proxy fn') as TrustProxy | undefined;
    // Express's default trusts nobody; no need to walk the header then.
    return express?.get('trust proxy') ? trust : undefined;
  }

  /**
   * The handshake needs a valid key (`auth: { token }`); without one the client gets connect_error
   * UNAUTHORIZED (a share link's token: SHARE_TOKEN_READ_ONLY), and an address past its failure limit
   * gets RATE_LIMITED with `retryAfter`.
   */
  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    this.cluster?.attach(namespace);
    namespace.use((socket, next) => {
      // Behind trusted proxies, the client's address as Express reads it for REST (JELMORE_TRUST_PROXY).
      const address = clientAddress(socket.request, this.trustProxy());
      const refused = this.authFailures.refusal(address);
      if (refused) {
        next(connectError(refused));
        return;
      }
      const auth = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const token = typeof auth === 'string' ? auth : undefined;
      // A share link's token is refused by name, as REST refuses it.
      const shareToken = shareTokenRefusal(token);
      if (shareToken) {
        next(connectError(shareToken));
        return;
      }
      const principal = this.keys.authenticate(token);
      if (!principal) {
        this.authFailures.recordFailure(address);
        next(
          connectError(
            new JelmoreError(
              ErrorCode.Unauthorized,
              'A valid API key is required: auth: { token }',
            ),
          ),
        );
        return;
      }
      (socket.data as { principal?: Principal }).principal = principal;
      // Per key; without keys every client is the same local principal, so per socket.
      this.rateLimiter.attach(
        socket,
        this.keys.enabled ? `key:${principal.id}` : `socket:${socket.id}`,
      );
      next();
    });
  }

  handleDisconnect(socket: Socket): void {
    for (const subscription of this.subscriptions.get(socket.id)?.values() ?? [])
      subscription.unsubscribe();
    this.subscriptions.delete(socket.id);
  }

  /** Shutdown begins: clients hear it first, so they reconnect elsewhere and resume. */
  onModuleDestroy(): void {
    this.namespace?.emit(WsServerEvents.shutdown, {
      reconnect: true,
      reason: 'node shutting down: its sessions are suspended; reconnect, resume and re-subscribe',
    });
  }

  onApplicationShutdown(): void {
    for (const subs of this.subscriptions.values())
      for (const sub of subs.values()) sub.unsubscribe();
    this.subscriptions.clear();
  }

  @SubscribeMessage(WsClientEvents.create)
  create(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.create({
        ...validateDto(CreateSessionDto, payload).toInput(),
        owner: principalOf(socket).id,
        actor: principalOf(socket),
      }),
    }));
  }

  /** Replays from `after`, then live; replaces an earlier subscription of this socket to the session. */
  @SubscribeMessage(WsClientEvents.subscribe)
  subscribe(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, after } = validateDto(SubscribeDto, payload);
      const principal = principalOf(socket);
      const { lastSeq } = await this.sessions.get(sessionId, principal);
      // Whatever `after` skips, a client learns what still waits for its answer.
      const pendingPermissions = await this.sessions.pendingPermissions(sessionId, principal);
      // A socket that stops draining holds the stream back; the log buffers, then says LAGGED.
      const batches = await this.sessions.stream(sessionId, after ?? 0, principal, {
        backpressure: (signal) => whenWritable(socket, signal),
      });
      // Gone while this ran or waited its turn: handleDisconnect is past, so nothing would end it.
      if (!socket.connected) return { lastSeq, pendingPermissions };
      this.unsubscribeFrom(socket, sessionId);
      const perSocket = this.subscriptions.get(socket.id) ?? new Map<string, Subscription>();
      this.subscriptions.set(socket.id, perSocket);
      const subscription = new Subscription();
      perSocket.set(sessionId, subscription);
      // Deferred so that the ack reaches the client before the first replayed batch.
      setImmediate(() => {
        if (subscription.closed) return;
        subscription.add(
          batches.subscribe({
            next: (batch) => socket.emit(WsServerEvents.events, batch),
            complete: () => this.forget(socket, sessionId, subscription),
            error: (err: unknown) => {
              const streamError: SessionStreamError = { sessionId, ...toErrorBody(err).body };
              socket.emit(WsServerEvents.error, streamError);
              this.forget(socket, sessionId, subscription);
            },
          }),
        );
      });
      return { lastSeq, pendingPermissions };
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
  input(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, text, mode } = validateDto(WsInputDto, payload);
      await this.sessions.input(sessionId, text, principalOf(socket), mode);
      return {};
    });
  }

  @SubscribeMessage(WsClientEvents.interrupt)
  interrupt(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      await this.sessions.interrupt(
        validateDto(SessionRefDto, payload).sessionId,
        principalOf(socket),
      );
      return {};
    });
  }

  @SubscribeMessage(WsClientEvents.suspend)
  suspend(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.suspend(
        validateDto(SessionRefDto, payload).sessionId,
        undefined,
        principalOf(socket),
      ),
    }));
  }

  @SubscribeMessage(WsClientEvents.resume)
  resume(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.resume(
        validateDto(SessionRefDto, payload).sessionId,
        principalOf(socket),
      ),
    }));
  }

  @SubscribeMessage(WsClientEvents.terminate)
  terminate(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => ({
      session: await this.sessions.terminate(
        validateDto(SessionRefDto, payload).sessionId,
        undefined,
        principalOf(socket),
      ),
    }));
  }

  /** A new session from this one at a turn: `{ sessionId, turn? }`. */
  @SubscribeMessage(WsClientEvents.fork)
  fork(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, turn } = validateDto(WsForkDto, payload);
      return { session: await this.sessions.fork(sessionId, turn, principalOf(socket)) };
    });
  }

  /** The session's files (and conversation, where it can) as at a turn: `{ sessionId, turn }`. */
  @SubscribeMessage(WsClientEvents.rewind)
  rewind(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, turn } = validateDto(WsRewindDto, payload);
      return this.sessions.rewind(sessionId, turn, principalOf(socket));
    });
  }

  /** Answers a tool permission request: `{ sessionId, requestId, allow, reason? }`. */
  @SubscribeMessage(WsClientEvents.permissionReply)
  permissionReply(@ConnectedSocket() socket: Socket, @MessageBody() payload: unknown) {
    return ack(async () => {
      const { sessionId, requestId, allow, reason } = validateDto(WsPermissionReplyDto, payload);
      await this.sessions.replyPermission(
        sessionId,
        requestId,
        { allow, ...(reason ? { reason } : {}) },
        principalOf(socket),
      );
      return {};
    });
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

function principalOf(socket: Socket): Principal {
  return (socket.data as { principal?: Principal }).principal ?? LOCAL_PRINCIPAL;
}

/** Runs a handler and turns its outcome into the ack every client event gets. */
async function ack<T extends object>(handler: () => Promise<T>): Promise<WsAck<T>> {
  try {
    return { ok: true, ...(await handler()) };
  } catch (err) {
    return { ok: false, error: toErrorBody(err).body };
  }
}

/** Undefined while the socket takes more; else resolves when it drains (or the stream ends). */
function whenWritable(socket: Socket, signal: AbortSignal): Promise<void> | undefined {
  const conn = socket.conn as unknown as { writeBuffer: unknown[] } & NodeJS.EventEmitter;
  if (conn.writeBuffer.length < MAX_QUEUED_PACKETS || signal.aborted) return undefined;
  return once(conn, 'drain', { signal }).then(
    () => undefined,
    () => undefined,
  );
}
