// The dashboard's side of the Jelmore API: REST with the API key as a bearer token, and a Socket.IO
// feed per session that subscribes again from the last seq it saw after any reconnect. It mirrors
// libs/client (the typed client), which a page without a bundler cannot import.
import { io } from '/socket.io/socket.io.esm.min.js';

const ACK_TIMEOUT_MS = 10_000;
const TERMINAL = new Set(['terminated', 'failed']);

export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** The answer's JSON; an error status throws the server's code. */
async function readJson(res, method, path) {
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiError(
      'CLIENT_BAD_RESPONSE',
      `${method} ${path} answered ${res.status}`,
      res.status,
    );
  }
  if (!res.ok) {
    const error = parsed && parsed.error;
    throw new ApiError(
      error ? error.code : 'CLIENT_BAD_RESPONSE',
      error ? error.message : `${method} ${path} answered ${res.status}`,
      res.status,
    );
  }
  return parsed;
}

export class Api {
  constructor(key) {
    this.key = key;
  }

  /** A JSON call; with `contentType`, `body` (a Blob) is sent as it is. */
  async request(method, path, body, contentType) {
    const res = await this.fetch(method, path, {
      accept: 'application/json',
      body: body === undefined || contentType ? body : JSON.stringify(body),
      contentType: contentType ?? (body === undefined ? undefined : 'application/json'),
    });
    return readJson(res, method, path);
  }

  async fetch(method, path, { accept, body, contentType }) {
    const headers = { accept };
    if (this.key) headers.authorization = `Bearer ${this.key}`;
    if (contentType) headers['content-type'] = contentType;
    try {
      return await fetch(path, { method, headers, body });
    } catch (err) {
      throw new ApiError('CLIENT_NETWORK', `The server cannot be reached (${err.message})`);
    }
  }

  sessions() {
    return this.request('GET', '/v1/sessions');
  }
  session(id) {
    return this.request('GET', `/v1/sessions/${encodeURIComponent(id)}`);
  }
  createSession(body) {
    return this.request('POST', '/v1/sessions', body);
  }
  /** `text`: a string, or content blocks. */
  send(id, text) {
    return this.request('POST', `/v1/sessions/${encodeURIComponent(id)}/input`, { text });
  }
  /** Uploads a File; the server takes its type from the bytes. */
  upload(file) {
    return this.request('POST', '/v1/attachments', file, file.type || 'application/octet-stream');
  }
  /** An attachment as a blob: URL, since an <img src> could not send the key. */
  async attachmentUrl(id) {
    const path = `/v1/attachments/${encodeURIComponent(id)}`;
    const res = await this.fetch('GET', path, { accept: '*/*' });
    if (!res.ok) await readJson(res, 'GET', path); // throws the server's code
    return URL.createObjectURL(await res.blob());
  }
  interrupt(id) {
    return this.request('POST', `/v1/sessions/${encodeURIComponent(id)}/interrupt`);
  }
  suspend(id) {
    return this.request('POST', `/v1/sessions/${encodeURIComponent(id)}/suspend`);
  }
  resume(id) {
    return this.request('POST', `/v1/sessions/${encodeURIComponent(id)}/resume`);
  }
  terminate(id) {
    return this.request('DELETE', `/v1/sessions/${encodeURIComponent(id)}`);
  }
  /** The files changed between two checkpoints, as JSON: `{ from, to, files, patch }`. */
  diff(id, from, to) {
    const query = new URLSearchParams({ from: String(from), to: String(to) });
    return this.request('GET', `/v1/sessions/${encodeURIComponent(id)}/diff?${query}`);
  }
  /** A new session from this one's conversation and files at `turn`. */
  fork(id, turn) {
    return this.request('POST', `/v1/sessions/${encodeURIComponent(id)}/fork`, { turn });
  }
  rewind(id, turn) {
    return this.request('POST', `/v1/sessions/${encodeURIComponent(id)}/rewind`, { turn });
  }
  providers() {
    return this.request('GET', '/v1/providers');
  }
  checkProviders() {
    return this.request('GET', '/v1/providers/health');
  }
}

/**
 * One session's events over Socket.IO, replayed then live, each seq once and in order. Callbacks:
 * onEvents(events), onConnection(connected), onError(ApiError).
 */
export class SessionFeed {
  constructor(key, sessionId, callbacks) {
    this.sessionId = sessionId;
    this.callbacks = callbacks;
    this.lastSeq = 0;
    this.ended = false;
    this.socket = io('/sessions', {
      auth: key ? { token: key } : {},
      transports: ['websocket'],
      reconnectionDelayMax: 5000,
    });
    const accept = (events) => {
      const fresh = events.filter((e) => e.sessionId === sessionId && e.seq > this.lastSeq);
      if (!fresh.length) return;
      this.lastSeq = fresh[fresh.length - 1].seq;
      if (fresh.some((e) => e.type === 'status' && TERMINAL.has(e.to))) this.ended = true;
      callbacks.onEvents(fresh);
    };
    this.socket.on('session:events', accept);
    this.socket.on('session:event', (event) => accept([event]));
    this.socket.on('session:error', (error) => {
      if (error.sessionId !== sessionId) return;
      if (error.code === 'LAGGED') this.subscribe();
      else callbacks.onError(new ApiError(error.code, error.message));
    });
    this.socket.on('connect', () => {
      callbacks.onConnection(true);
      this.subscribe();
    });
    this.socket.on('disconnect', (reason) => {
      callbacks.onConnection(false);
      if (reason === 'io server disconnect') this.socket.connect();
    });
    this.socket.on('connect_error', (err) => {
      // Not active: the server refused the handshake and socket.io will not retry.
      if (!this.socket.active) {
        callbacks.onError(
          new ApiError((err.data && err.data.code) || 'CLIENT_NETWORK', err.message),
        );
      }
    });
  }

  async subscribe() {
    if (this.ended) return;
    const ack = await this.ack('session:subscribe', {
      sessionId: this.sessionId,
      after: this.lastSeq,
    }).catch((err) => err);
    if (ack instanceof ApiError) this.callbacks.onError(ack);
  }

  /**
   * Answers a permission request of `sessionId`: this feed's own, or a descendant's relayed to it as a
   * child_permission_request (the server checks the key may answer for that session).
   */
  replyPermission(sessionId, requestId, allow) {
    return this.ack('permission:reply', { sessionId, requestId, allow });
  }

  async ack(event, payload) {
    let answer;
    try {
      answer = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload);
    } catch {
      throw new ApiError(
        'CLIENT_TIMEOUT',
        `No answer to ${event} within ${ACK_TIMEOUT_MS / 1000} s`,
      );
    }
    if (!answer || !answer.ok) {
      const error = (answer && answer.error) || { code: 'CLIENT_BAD_RESPONSE', message: event };
      throw new ApiError(error.code, error.message);
    }
    return answer;
  }

  close() {
    this.ended = true;
    this.socket.disconnect();
  }
}
