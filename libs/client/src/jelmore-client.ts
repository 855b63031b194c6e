import { io, type Socket } from 'socket.io-client';
import {
  WS_NAMESPACE,
  WsClientEvents,
  WsServerEvents,
  type AttachmentResource,
  type Checkpoint,
  type ExperimentReport,
  type PendingPermission,
  type RewindResult,
  type SessionDiff,
  type SessionEvent,
  type SessionResource,
  type SessionStreamError,
  type TurnContent,
  type WsAck,
} from '@jelmore/contracts';
import { ClientErrorCode, JelmoreClientError, refusal } from './client-error';
import type {
  CreateSessionRequest,
  DiffRange,
  MetricsReport,
  ProviderHealthReport,
  ProvidersReport,
  ReadinessReport,
  StreamOptions,
  UploadedAttachment,
  UploadOptions,
} from './client.types';
import {
  bytesOf,
  httpRequest,
  jsonOf,
  queryString,
  type HttpTarget,
  type Method,
  type RequestBody,
} from './http-request';
import { SessionEventStream, type StreamHost } from './session-event-stream';
import {
  openShare,
  type CreatedShareLink,
  type CreateShareOptions,
  type OpenedShare,
  type OpenShareOptions,
  type ShareLink,
} from './shared-session';

/** The WS event for answering a permission request (kept for callers of the earlier constant). */
export const PERMISSION_REPLY_EVENT = WsClientEvents.permissionReply;

export interface JelmoreClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** An API key from the server's JELMORE_API_KEYS; omit when the server has none. */
  apiKey?: string;
  /** How long a request or an ack may take (default 30 s). */
  timeoutMs?: number;
  /** How long a stream waits for a lost connection to come back before it fails (default 60 s). */
  reconnectWindowMs?: number;
  /**
   * Where session commands go: REST (default) or the Socket.IO connection that streams use, which
   * saves a request per command when a stream is open anyway.
   */
  commands?: 'rest' | 'socket';
}

/**
 * A typed client of one Jelmore server: REST for resources and, by default, commands; Socket.IO for
 * live streams that resume by themselves. One Socket.IO connection per client, opened on first use.
 */
export class JelmoreClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly http: HttpTarget;
  private readonly streamHost: StreamHost;
  private readonly streams = new Map<string, SessionEventStream>();
  private ioSocket?: Socket;
  private closed = false;

  constructor(private readonly options: JelmoreClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.http = { url: this.url, apiKey: options.apiKey, timeoutMs: this.timeoutMs };
    const socket = () => this.socket;
    this.streamHost = {
      get socket() {
        return socket();
      },
      ackTimeoutMs: this.timeoutMs,
      reconnectWindowMs: options.reconnectWindowMs ?? 60_000,
      getSession: (id) => this.getSession(id),
      release: (stream) => {
        if (this.streams.get(stream.sessionId) === stream) this.streams.delete(stream.sessionId);
      },
    };
  }

  // ---- sessions ----

  createSession(request: CreateSessionRequest): Promise<SessionResource> {
    return this.command('POST', '/v1/sessions', request, WsClientEvents.create, request).then(
      (r) => ('session' in r ? (r.session as SessionResource) : (r as SessionResource)),
    );
  }

  getSession(id: string): Promise<SessionResource> {
    return this.rest('GET', `/v1/sessions/${encodeURIComponent(id)}`);
  }

  listSessions(): Promise<SessionResource[]> {
    return this.rest('GET', '/v1/sessions');
  }

  /** Committed events after `after` (at most `limit`, server default 1000), from the log. */
  async events(
    id: string,
    query: { after?: number; limit?: number } = {},
  ): Promise<SessionEvent[]> {
    const body = await this.rest<{ events: SessionEvent[] }>(
      'GET',
      `${this.path(id)}/events${queryString({ after: query.after, limit: query.limit })}`,
    );
    return body.events;
  }

  /**
   * Sends input, text or content blocks: a new turn when the agent is idle, else queued for the next
   * one.
   */
  async send(sessionId: string, input: TurnContent): Promise<void> {
    await this.command(
      'POST',
      `${this.path(sessionId)}/input`,
      { text: input },
      WsClientEvents.input,
      { sessionId, text: input },
    );
  }

  async interrupt(sessionId: string): Promise<void> {
    await this.command(
      'POST',
      `${this.path(sessionId)}/interrupt`,
      undefined,
      WsClientEvents.interrupt,
      {
        sessionId,
      },
    );
  }

  suspend(sessionId: string): Promise<SessionResource> {
    return this.sessionCommand(
      'POST',
      `${this.path(sessionId)}/suspend`,
      WsClientEvents.suspend,
      sessionId,
    );
  }

  resume(sessionId: string): Promise<SessionResource> {
    return this.sessionCommand(
      'POST',
      `${this.path(sessionId)}/resume`,
      WsClientEvents.resume,
      sessionId,
    );
  }

  /** Ends the session; one with a worktree answers what became of it (`worktreeRemoved`). */
  terminate(sessionId: string): Promise<SessionResource> {
    return this.sessionCommand('DELETE', this.path(sessionId), WsClientEvents.terminate, sessionId);
  }

  // ---- checkpoints, fork and rewind ----

  /** The session's checkpoints, turn 0 (its start) first; none when its cwd is in no git repo. */
  checkpoints(sessionId: string): Promise<Checkpoint[]> {
    return this.rest('GET', `${this.path(sessionId)}/checkpoints`);
  }

  /**
   * The files changed between two checkpoints, and the patch. One turn's own changes:
   * `{ from: n - 1, to: n }`.
   */
  diff(sessionId: string, range: DiffRange = {}): Promise<SessionDiff> {
    return this.rest('GET', this.diffPath(sessionId, range));
  }

  /** `diff`'s patch alone, as git prints it (`text/x-diff`). */
  async patch(sessionId: string, range: DiffRange = {}): Promise<string> {
    const path = this.diffPath(sessionId, range);
    return bytesOf(await httpRequest(this.http, 'GET', path, undefined, 'text/x-diff')).toString();
  }

  /**
   * A new session from this one's conversation and files at `turn` (default: its last checkpoint).
   * Fails with FORK_UNSUPPORTED for providers that cannot fork a conversation.
   */
  fork(sessionId: string, options: { turn?: number } = {}): Promise<SessionResource> {
    const body = options.turn === undefined ? {} : { turn: options.turn };
    return this.sessionCommand(
      'POST',
      `${this.path(sessionId)}/fork`,
      WsClientEvents.fork,
      sessionId,
      body,
    );
  }

  /**
   * Puts the files of a session that is not running (idle, suspended, interrupted) back as they were
   * at `turn`, and its conversation where the provider can (`conversation: 'truncated'`, else `'kept'`).
   */
  async rewind(sessionId: string, turn: number): Promise<RewindResult> {
    const answer = await this.command(
      'POST',
      `${this.path(sessionId)}/rewind`,
      { turn },
      WsClientEvents.rewind,
      { sessionId, turn },
    );
    const { ok: _ok, ...result } = answer as RewindResult & { ok?: boolean };
    return result;
  }

  /** The session's permission requests that wait for an answer. */
  async pendingPermissions(sessionId: string): Promise<PendingPermission[]> {
    const body = await this.rest<{ requests: PendingPermission[] }>(
      'GET',
      `${this.path(sessionId)}/permissions`,
    );
    return body.requests;
  }

  /**
   * Answers a `permission_request` event (or a `child_permission_request`: on its `childSessionId`):
   * the tool runs, or the agent gets the denial and `reason`.
   * A request that no longer waits (answered, timed out, withdrawn) fails with PERMISSION_REQUEST_NOT_FOUND.
   */
  async replyPermission(
    sessionId: string,
    requestId: string,
    allow: boolean,
    reason?: string,
  ): Promise<void> {
    const decision = { allow, ...(reason ? { reason } : {}) };
    await this.command(
      'POST',
      `${this.path(sessionId)}/permissions/${encodeURIComponent(requestId)}`,
      decision,
      WsClientEvents.permissionReply,
      { sessionId, requestId, ...decision },
    );
  }

  /**
   * The session's events after `after`, replayed then live, in seq order and each once, across
   * reconnects. Ends after the session is terminated or failed; `break` or `options.signal` stop it.
   * One stream per session per client: the server keeps one subscription per socket and session.
   */
  stream(sessionId: string, options: StreamOptions = {}): SessionEventStream {
    if (this.closed) throw new JelmoreClientError(ClientErrorCode.Closed, 'The client is closed');
    if (this.streams.has(sessionId)) {
      throw new JelmoreClientError(
        ClientErrorCode.AlreadyStreaming,
        `This client already streams session ${sessionId}; use another client for a second stream`,
      );
    }
    const stream = new SessionEventStream(sessionId, this.streamHost, options);
    this.streams.set(sessionId, stream);
    stream.start();
    return stream;
  }

  // ---- share links (docs/shares.md) ----

  /** A read-only link of the session; the answer is the only one that shows its token and URL. */
  createShare(sessionId: string, options: CreateShareOptions = {}): Promise<CreatedShareLink> {
    return this.rest('POST', `${this.path(sessionId)}/shares`, { json: options });
  }

  /** The session's links, oldest first, without their tokens. */
  listShares(sessionId: string): Promise<ShareLink[]> {
    return this.rest('GET', `${this.path(sessionId)}/shares`);
  }

  /** Revokes a link by its token, or by its session and the id `listShares` shows; answers it. */
  revokeShare(token: string): Promise<ShareLink>;
  revokeShare(sessionId: string, shareId: string): Promise<ShareLink>;
  revokeShare(tokenOrSessionId: string, shareId?: string): Promise<ShareLink> {
    const path =
      shareId === undefined
        ? `/v1/shares/${encodeURIComponent(tokenOrSessionId)}`
        : `${this.path(tokenOrSessionId)}/shares/${encodeURIComponent(shareId)}`;
    return this.rest('DELETE', path);
  }

  /** Opens a share link without a key (no client needed): see `openShare`. */
  static openShare(link: string, options?: OpenShareOptions): Promise<OpenedShare> {
    return openShare(link, options);
  }

  // ---- attachments ----

  /**
   * Uploads an image or document (`POST /v1/attachments`, the bytes as the body) for turns to
   * reference by id: `imageBlock(upload)`, `documentBlock(upload)`. The server takes its type from
   * the bytes; a type it does not take fails with MEDIA_TYPE_UNSUPPORTED.
   */
  async uploadAttachment(
    bytes: Buffer | Uint8Array,
    options: UploadOptions = {},
  ): Promise<UploadedAttachment> {
    const contentType = options.contentType ?? 'application/octet-stream';
    const resource = await this.rest<AttachmentResource>('POST', '/v1/attachments', {
      bytes,
      contentType,
    });
    return options.name === undefined ? resource : { ...resource, name: options.name };
  }

  /** An attachment's bytes (this key's own, or any with an admin key). */
  async attachment(id: string): Promise<Buffer> {
    const path = `/v1/attachments/${encodeURIComponent(id)}`;
    return bytesOf(await httpRequest(this.http, 'GET', path, undefined, '*/*'));
  }

  // ---- providers and operations ----

  providers(): Promise<ProvidersReport> {
    return this.rest('GET', '/v1/providers');
  }

  /** Checks every provider now. */
  providerHealth(): Promise<Record<string, ProviderHealthReport>> {
    return this.rest('GET', '/v1/providers/health');
  }

  /** The readiness probe; a server that is up but not ready answers `ready: false`, not an error. */
  async health(): Promise<ReadinessReport> {
    const body = await this.rest<Partial<ReadinessReport> | undefined>(
      'GET',
      '/health/ready',
      undefined,
      [503],
    );
    const status = typeof body?.status === 'string' ? body.status : 'error';
    return { ...body, status, ready: status === 'ok' };
  }

  metrics(): Promise<MetricsReport> {
    return this.rest('GET', '/v1/metrics');
  }

  /** An A/B experiment's figures per arm: of this key's sessions (an admin key's: of all). */
  experiment(name: string): Promise<ExperimentReport> {
    return this.rest('GET', `/v1/experiments/${encodeURIComponent(name)}`);
  }

  /** Ends every stream and the Socket.IO connection. */
  close(): void {
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.close();
    this.ioSocket?.disconnect();
    this.ioSocket = undefined;
  }

  // ---- transport ----

  private path(sessionId: string): string {
    return `/v1/sessions/${encodeURIComponent(sessionId)}`;
  }

  private diffPath(sessionId: string, { from, to }: DiffRange): string {
    return `${this.path(sessionId)}/diff${queryString({ from, to })}`;
  }

  /** A command that answers a session: REST gives it as the body, the WS ack as `session`. */
  private async sessionCommand(
    method: Method,
    path: string,
    event: string,
    sessionId: string,
    body?: object,
  ): Promise<SessionResource> {
    const answer = await this.command(method, path, body, event, { sessionId, ...body });
    return 'session' in answer ? (answer.session as SessionResource) : (answer as SessionResource);
  }

  private command(
    method: Method,
    path: string,
    body: unknown,
    event: string,
    payload: object,
  ): Promise<object> {
    return this.options.commands === 'socket'
      ? this.emit(event, payload)
      : this.rest<object>(method, path, body === undefined ? undefined : { json: body });
  }

  private get socket(): Socket {
    if (this.closed) throw new JelmoreClientError(ClientErrorCode.Closed, 'The client is closed');
    if (this.ioSocket) return this.ioSocket;
    const socket = io(`${this.url}${WS_NAMESPACE}`, {
      transports: ['websocket'],
      auth: this.options.apiKey ? { token: this.options.apiKey } : {},
      // Without forceNew, clients of one URL share a connection, and with it the first one's key.
      forceNew: true,
      reconnectionDelay: 250,
      reconnectionDelayMax: 5_000,
    });
    const streamOf = (sessionId: string) => this.streams.get(sessionId);
    socket.on(WsServerEvents.events, (batch: SessionEvent[]) => {
      if (batch.length) streamOf(batch[0].sessionId)?.onEvents(batch);
    });
    socket.on(WsServerEvents.event, (event: SessionEvent) =>
      streamOf(event.sessionId)?.onEvents([event]),
    );
    socket.on(WsServerEvents.error, (error: SessionStreamError) =>
      streamOf(error.sessionId)?.onStreamError(error),
    );
    socket.on('connect', () => this.streams.forEach((s) => s.onConnect()));
    socket.on('disconnect', (reason) => {
      // The server closed this socket on purpose: socket.io leaves reconnecting to us.
      if (reason === 'io server disconnect' && this.streams.size) socket.connect();
      this.streams.forEach((s) => s.onDisconnect());
    });
    socket.on('connect_error', (error: Error & { data?: { code?: string } }) =>
      this.streams.forEach((s) => s.onConnectError(error, socket.active)),
    );
    this.ioSocket = socket;
    return socket;
  }

  /** A Socket.IO command and its ack; fails fast when the server refuses the handshake. */
  private async emit<T extends object>(event: string, payload: object): Promise<T> {
    const socket = this.socket;
    // Sent only once connected: socket.io would buffer it, and keep its ack timer, past a refusal.
    await this.whenConnected(socket);
    let ack: WsAck<T>;
    try {
      ack = (await socket.timeout(this.timeoutMs).emitWithAck(event, payload)) as WsAck<T>;
    } catch {
      throw new JelmoreClientError(
        ClientErrorCode.Timeout,
        `No answer to ${event} within ${this.timeoutMs} ms`,
      );
    }
    if (!ack.ok) throw JelmoreClientError.fromBody(ack.error);
    return ack;
  }

  private whenConnected(socket: Socket): Promise<void> {
    if (socket.connected) return Promise.resolve();
    // A handshake the server refused is not retried by socket.io: ask again.
    if (!socket.active) socket.connect();
    return new Promise((resolve, reject) => {
      const done = (error?: JelmoreClientError) => {
        clearTimeout(timer);
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        if (error) reject(error);
        else resolve();
      };
      const onConnect = () => done();
      const onError = (error: Error & { data?: { code?: string } }) => {
        if (!socket.active) done(refusal(error));
      };
      const timer = setTimeout(
        () =>
          done(
            new JelmoreClientError(
              ClientErrorCode.Timeout,
              `No Socket.IO connection to ${this.url} within ${this.timeoutMs} ms`,
            ),
          ),
        this.timeoutMs,
      );
      socket.on('connect', onConnect);
      socket.on('connect_error', onError);
    });
  }

  private async rest<T>(
    method: Method,
    path: string,
    body?: RequestBody,
    acceptedErrors: number[] = [],
  ): Promise<T> {
    return jsonOf<T>(await httpRequest(this.http, method, path, body), acceptedErrors);
  }
}
