import {
  ErrorCode,
  TERMINAL_STATES,
  type ErrorBody,
  type SessionEvent,
  type SessionResource,
} from '@jelmore/contracts';
import { ClientErrorCode, JelmoreClientError } from './client-error';
import { httpRequest, jsonOf, queryString, type HttpTarget } from './http-request';

/** A share link as its session's owner sees it (`GET /v1/sessions/:id/shares`): never its token. */
export interface ShareLink {
  id: string;
  sessionId: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
}

/** `POST /v1/sessions/:id/shares`' answer: the only one that shows the token and the URL. */
export interface CreatedShareLink extends ShareLink {
  token: string;
  url: string;
}

export interface CreateShareOptions {
  /** Default the server's JELMORE_SHARE_DEFAULT_TTL_SECONDS; above its maximum: VALIDATION_FAILED. */
  expiresInSeconds?: number;
}

/** What a share link shows of its session: no working directory, owner or permission policy. */
export type SharedSession = Pick<
  SessionResource,
  'id' | 'title' | 'provider' | 'model' | 'state' | 'createdAt' | 'updatedAt' | 'usage' | 'lastSeq'
> & { share: { id: string; expiresAt: string } };

export interface OpenShareOptions {
  /** The token, when the first argument is the server's base URL rather than the link. */
  token?: string;
  /** How long a request, or a stream's connection, may take (default 30 s). */
  timeoutMs?: number;
  /** How long `follow` waits for a lost connection to come back before it fails (default 60 s). */
  reconnectWindowMs?: number;
}

export interface FollowShareOptions {
  /** Start after this seq (default 0: the whole session). */
  after?: number;
  /** Ends the iteration, as `break` does. */
  signal?: AbortSignal;
  /** Called when the connection drops and when it is back (the stream resumes by itself). */
  onConnectionChange?: (connected: boolean) => void;
}

/** A link's server and token: `<base>/share/<token>` (the dashboard's) or `<base>/v1/shared/<token>`. */
export function parseShareLink(link: string): { url: string; token: string } {
  const parsed = URL.parse(link);
  const match = parsed && /^(.*)\/(?:share|v1\/shared)\/([^/]+)\/?$/.exec(parsed.pathname);
  if (!parsed || !/^https?:$/.test(parsed.protocol) || !match) {
    throw new JelmoreClientError(
      ErrorCode.ShareNotFound,
      `Not a share link (http(s)://…/share/<token>): ${link}`,
    );
  }
  return { url: `${parsed.origin}${match[1]}`, token: decodeURIComponent(match[2]) };
}

/**
 * Opens a share link without an API key: `openShare('https://host/share/jls_…')`, or
 * `openShare('https://host', { token })`. Reads the session first, so a link that does not hold fails
 * here with SHARE_NOT_FOUND, SHARE_REVOKED or SHARE_EXPIRED.
 */
export async function openShare(
  link: string,
  options: OpenShareOptions = {},
): Promise<OpenedShare> {
  const { url, token } = options.token
    ? { url: link.replace(/\/+$/, ''), token: options.token }
    : parseShareLink(link);
  const share = new OpenedShare(url, token, options);
  share.session = await share.refresh();
  return share;
}

/** One shared session, read-only: its resource, its events, and a live follow over SSE. */
export class OpenedShare {
  /** The session as last read (by `openShare`, `refresh` or the end of `follow`). */
  session!: SharedSession;
  private readonly http: HttpTarget;
  private readonly reconnectWindowMs: number;

  constructor(
    readonly url: string,
    readonly token: string,
    options: OpenShareOptions = {},
  ) {
    // No key: the token in the path is what opens the session.
    this.http = { url, timeoutMs: options.timeoutMs ?? 30_000 };
    this.reconnectWindowMs = options.reconnectWindowMs ?? 60_000;
  }

  private get path(): string {
    return `/v1/shared/${encodeURIComponent(this.token)}`;
  }

  /** Reads the session again. */
  async refresh(): Promise<SharedSession> {
    this.session = jsonOf<SharedSession>(await httpRequest(this.http, 'GET', this.path));
    return this.session;
  }

  /** Committed events after `after` (at most `limit`, server default 1000), redacted. */
  async events(query: { after?: number; limit?: number } = {}): Promise<SessionEvent[]> {
    const path = `${this.path}/events${queryString({ after: query.after, limit: query.limit })}`;
    return jsonOf<{ events: SessionEvent[] }>(await httpRequest(this.http, 'GET', path)).events;
  }

  /**
   * The events after `after`, replayed then live (Server-Sent Events), each seq once and in order,
   * resumed from the last seq after a dropped connection or LAGGED. Ends after the session ends;
   * throws SHARE_REVOKED or SHARE_EXPIRED when the link stops holding while it runs.
   */
  async *follow(options: FollowShareOptions = {}): AsyncGenerator<SessionEvent, void, undefined> {
    let after = options.after ?? 0;
    let lostAt: number | undefined;
    let delayMs = 250;
    const stop = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
    try {
      for (;;) {
        if (signal.aborted) return;
        let outcome: Outcome;
        try {
          const body = await this.connect(after, signal);
          if (lostAt !== undefined) options.onConnectionChange?.(true);
          lostAt = undefined;
          delayMs = 250;
          for await (const item of frames(body)) {
            if ('error' in item) throw JelmoreClientError.fromBody(item.error);
            if (item.event.seq <= after) continue;
            after = item.event.seq;
            yield item.event;
            if (item.event.type === 'status' && TERMINAL_STATES.has(item.event.to)) return;
          }
          // The server ends the stream once the session has ended, and when it shuts down.
          if (TERMINAL_STATES.has((await this.refresh()).state)) return;
          outcome = 'lost';
        } catch (err) {
          if (signal.aborted) return;
          outcome = outcomeOf(err);
        }
        if (outcome === 'lagged') continue;
        if (lostAt === undefined) {
          lostAt = Date.now();
          options.onConnectionChange?.(false);
        } else if (Date.now() - lostAt > this.reconnectWindowMs) {
          throw new JelmoreClientError(
            ClientErrorCode.Disconnected,
            `No connection to ${this.url} for ${this.reconnectWindowMs} ms`,
          );
        }
        await sleep(delayMs, signal);
        delayMs = Math.min(delayMs * 2, 5_000);
      }
    } finally {
      stop.abort();
    }
  }

  /** The SSE response's body; an error answer throws the server's code. */
  private async connect(after: number, signal: AbortSignal): Promise<ReadableStream<Uint8Array>> {
    const path = `${this.path}/events${queryString({ after })}`;
    const timeout = AbortSignal.timeout(this.http.timeoutMs);
    const res = await fetch(`${this.url}${path}`, {
      headers: { accept: 'text/event-stream' },
      signal: AbortSignal.any([signal, timeout]),
    }).catch((err: unknown) => {
      throw timeout.aborted
        ? new JelmoreClientError(ClientErrorCode.Timeout, `No answer to GET ${path}`)
        : err;
    });
    if (!res.ok || !res.body) {
      const body = Buffer.from(await res.arrayBuffer());
      jsonOf({ method: 'GET', path, status: res.status, ok: false, body });
    }
    // The timeout is for the answer's head only: a live stream may stay quiet for long.
    return res.body!;
  }
}

type Outcome = 'lagged' | 'lost';
type Frame = { event: SessionEvent } | { error: ErrorBody };

/** What to do after a stream broke: a server error (a code other than LAGGED) is thrown. */
function outcomeOf(err: unknown): Outcome {
  if (!(err instanceof JelmoreClientError)) return 'lost';
  if (err.code === (ErrorCode.Lagged as string)) return 'lagged';
  const transient: string[] = [ClientErrorCode.Timeout, ClientErrorCode.Network];
  if (transient.includes(err.code)) return 'lost';
  throw err;
}

/** The SSE frames of a body: events, and the `event: error` frame a stream may end with. */
async function* frames(body: ReadableStream<Uint8Array>): AsyncGenerator<Frame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const frame = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const parsed = parseFrame(frame);
        if (parsed) yield parsed;
      }
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function parseFrame(frame: string): Frame | undefined {
  let type = 'message';
  const data: string[] = [];
  for (const line of frame.split('\n')) {
    if (line.startsWith('event:')) type = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (!data.length) return undefined; // A comment or keep-alive.
  let value: unknown;
  try {
    value = JSON.parse(data.join('\n'));
  } catch {
    throw new JelmoreClientError(ClientErrorCode.BadResponse, `An SSE frame that is not JSON`);
  }
  return type === 'error' ? { error: value as ErrorBody } : { event: value as SessionEvent };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
