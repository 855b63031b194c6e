import { Agent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { finished } from 'node:stream';
import { createParser } from 'eventsource-parser';
import { type AgentProcess, installedBin } from '../process/agent-process';
import { httpOpen, httpText } from './opencode-http';
import type { LaunchedServer } from './opencode-launch';
import type { OpencodeEvent } from './opencode-event.normalizer';

export interface OpencodeListener {
  onEvent(event: OpencodeEvent): void;
  /** The server (or the event stream) went away: the session's agent is gone. */
  onServerLost(reason: string): void;
}

/** Either an external server at `endpoint`, or a dedicated one that `launch` starts. */
export type OpencodeServerOptions =
  | { endpoint: string; launch?: undefined }
  | { endpoint?: undefined; launch: (onExit: (reason: string) => void) => Promise<LaunchedServer> };

const CONNECT_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_MS = 10_000;

/** JELMORE_OPENCODE_BIN when set, else the CLI installed from npm alongside Jelmore. */
export function defaultOpencodeBin(): string | undefined {
  return installedBin('opencode-ai', 'opencode.exe');
}

/**
 * One `opencode serve` and its `/global/event` stream, whose events are routed to sessions by their
 * opencode session id. A dedicated server (one session's, sandboxed) is started on first use and ends
 * with stop() or on its own, which fails its session; an external one (the operator's) is shared by every
 * session of the node and reconnected on next use when its stream breaks.
 */
export class OpencodeServer {
  private readonly listeners = new Map<string, OpencodeListener>();
  private readonly directories = new Map<string, number>();
  private readonly endpoint?: { url: string; authorization?: string };
  /** An external server's connections are kept alive; a dedicated one's end with each exchange. */
  private readonly agent: Agent | false = false;
  private process?: AgentProcess;
  private url?: string;
  private authorization?: string;
  private starting?: Promise<string>;
  private events?: AbortController;
  private stopping = false;
  private lastError?: string;
  /** Counts starts of a dedicated server: only the latest one's exit matters. */
  private launches = 0;

  constructor(private readonly options: OpencodeServerOptions) {
    if (!options.endpoint) return;
    this.endpoint = withoutCredentials(options.endpoint);
    const secure = this.endpoint.url.startsWith('https:');
    this.agent = secure ? new HttpsAgent({ keepAlive: true }) : new Agent({ keepAlive: true });
  }

  /** An external server's URL, without the credentials it may hold. */
  get endpointUrl(): string | undefined {
    return this.endpoint?.url;
  }

  /** The dedicated server's process (bubblewrap's when sandboxed), while it runs. */
  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  /** The server's base URL once it answers and its event stream is open. */
  ready(): Promise<string> {
    if (this.url) return Promise.resolve(this.url);
    if (this.stopping) return Promise.reject(new Error('opencode server stopped'));
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  listen(sessionId: string, listener: OpencodeListener): () => void {
    this.listeners.set(sessionId, listener);
    return () => {
      if (this.listeners.get(sessionId) === listener) this.listeners.delete(sessionId);
    };
  }

  /**
   * Marks a directory in use by a session. opencode keeps an instance per directory (plugins, tools: about
   * 50 MiB); on a shared server the returned release disposes it once no session uses the directory any
   * more. A dedicated server's instance ends with the server.
   */
  useDirectory(directory: string): () => void {
    if (!this.endpoint) return () => undefined;
    this.directories.set(directory, (this.directories.get(directory) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.directories.get(directory) ?? 1) - 1;
      if (left > 0) {
        this.directories.set(directory, left);
        return;
      }
      this.directories.delete(directory);
      if (!this.url) return;
      this.request('POST', `/instance/dispose?directory=${encodeURIComponent(directory)}`).catch(
        () => undefined,
      );
    };
  }

  /** Up when the server answers now (connecting first if need be); the reason otherwise. */
  async health(): Promise<{ healthy: boolean; reason?: string }> {
    try {
      await this.ready();
      await this.request('GET', '/session/status');
      return { healthy: true };
    } catch (err) {
      return {
        healthy: false,
        reason: this.lastError ?? `opencode server does not answer: ${errorText(err)}`,
      };
    }
  }

  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const base = this.url ?? (await this.ready());
    const what = `opencode ${method} ${path.split('?')[0]}`;
    const { status, text } = await httpText(`${base}${path}`, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      agent: this.agent,
    }).catch((err: unknown) => {
      throw new Error(`${what}: ${errorText(err)}`, { cause: err });
    });
    if (status < 200 || status > 299) {
      throw new Error(`${what} answered ${status}: ${text.slice(0, 200)}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Closes the event stream; a dedicated server's process ends too (its whole sandbox). */
  async stop(): Promise<void> {
    this.stopping = true;
    // A start under way would leave its server behind: let it finish (it checks `stopping`), then end it.
    await this.starting?.catch(() => undefined);
    this.events?.abort();
    this.url = undefined;
    await this.process?.stop(3000);
  }

  private async start(): Promise<string> {
    try {
      const url = this.endpoint ? await this.connect() : await this.spawn();
      this.lastError = undefined;
      return url;
    } catch (err) {
      this.lastError = errorText(err);
      throw err;
    }
  }

  private async connect(): Promise<string> {
    const { url, authorization } = this.endpoint!;
    this.authorization = authorization;
    await this.openEvents(url);
    return (this.url = url);
  }

  private async spawn(): Promise<string> {
    const launch = ++this.launches;
    const launched = await this.options.launch!((reason) => {
      if (launch === this.launches) this.onExit(reason);
    });
    this.process = launched.process;
    this.authorization = launched.authorization;
    try {
      if (this.stopping) throw new Error('opencode server stopped while starting');
      await this.openEvents(launched.url);
    } catch (err) {
      await launched.process.stop(0);
      throw err;
    }
    return (this.url = launched.url);
  }

  private onExit(reason: string): void {
    this.url = undefined;
    this.events?.abort();
    this.lastError = reason;
    this.lostAll(reason);
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return this.authorization ? { ...extra, authorization: this.authorization } : extra;
  }

  private lostAll(reason: string): void {
    const listeners = [...this.listeners.values()];
    this.listeners.clear();
    for (const listener of listeners) listener.onServerLost(reason);
  }

  /** Opens `/global/event`; resolves once the server confirms the connection. */
  private async openEvents(url: string): Promise<void> {
    const abort = new AbortController();
    this.events = abort;
    // Bounds the connection only: the signal also governs the body, which must stay open.
    const connectTimer = setTimeout(() => abort.abort(), CONNECT_TIMEOUT_MS);
    let res: IncomingMessage;
    try {
      res = await httpOpen(`${url}/global/event`, {
        headers: this.headers({ accept: 'text/event-stream' }),
        signal: abort.signal,
        agent: this.agent,
      });
    } catch (err) {
      throw new Error(`opencode GET /global/event at ${url}: ${errorText(err)}`, { cause: err });
    } finally {
      clearTimeout(connectTimer);
    }
    if (res.statusCode !== 200) {
      res.destroy();
      throw new Error(`opencode /global/event answered ${res.statusCode}`);
    }
    const parser = createParser({
      onEvent: (message) => {
        let envelope: { payload?: OpencodeEvent };
        try {
          envelope = JSON.parse(message.data) as { payload?: OpencodeEvent };
        } catch {
          return;
        }
        const event = envelope.payload;
        const sessionId = event?.properties?.sessionID;
        if (event && sessionId) this.listeners.get(sessionId)?.onEvent(event);
      },
    });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => parser.feed(chunk));
    // Ended, aborted, or the connection broke.
    finished(res, () => {
      // A dying server closes the stream a moment before its exit is seen: let the exit tell the story.
      setTimeout(() => {
        if (abort.signal.aborted || this.events !== abort) return;
        // The stream ended on its own: events were lost, so the sessions cannot go on. A dedicated
        // server is ended with them; an external one is reconnected on next use.
        this.url = undefined;
        this.lastError = 'opencode event stream closed';
        this.lostAll(this.lastError);
        this.process?.signal('SIGKILL');
      }, 250);
    });
  }
}

/** An error's message, with its cause's (a refused or reset connection) when it has one. */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause ? `${err.message}: ${cause}` : err.message;
}

/** An endpoint's `user:password@` (Node's fetch refuses URLs with credentials) as a Basic header. */
function withoutCredentials(endpoint: string): { url: string; authorization?: string } {
  const url = new URL(endpoint);
  const { username, password } = url;
  url.username = url.password = '';
  const base = url.toString().replace(/\/$/, '');
  if (!username && !password) return { url: base };
  const credentials = `${decodeURIComponent(username) || 'opencode'}:${decodeURIComponent(password)}`;
  return { url: base, authorization: `Basic ${Buffer.from(credentials).toString('base64')}` };
}
