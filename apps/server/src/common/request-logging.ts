import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { pino, type Logger } from 'pino';

/** The request log's middleware, built with the app's module (see AppModule.forRoot). */
export const REQUEST_LOGGER = Symbol('REQUEST_LOGGER');

/** The process's one pino logger: Nest's logs (through nestjs-pino) and the request log write to it. */
export function createRootLogger(level: string): Logger {
  return pino({
    level,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
  });
}

/** Probes and scrapes would drown the log. */
const NOT_LOGGED = /^\/(health|metrics)/;
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * One JSON line per HTTP request, with its id: a caller's `x-request-id` is kept (so its logs and ours
 * line up), else one is made; either way the response carries it. The line holds the method, the URL
 * and query (secret-looking values redacted), the caller's address, the status and the time taken, not
 * the headers: pino-http serialized every request and response header twice a request (a child logger
 * per request, then the response) and cost a third of a `GET /v1/sessions/:id` (bench/ rest).
 * Mounted with `app.use` rather than nestjs-pino's middleware, which also runs each request inside an
 * AsyncLocalStorage: on Node 20 the first such request turns on promise hooks for the whole process,
 * and from then on every promise of every session pays for them (about 15% of the CPU of streaming
 * events, and more garbage). So what Nest logs while serving a request carries its context's name, not
 * the request id; the request's line has it.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', id);
    if (!NOT_LOGGED.test(req.url)) {
      const started = Date.now();
      // 'close' comes after 'finish', and alone when the client left first.
      res.on('close', () => logRequest(logger, req, res, id, Date.now() - started));
    }
    next();
  };
}

function logRequest(
  logger: Logger,
  req: Request,
  res: Response,
  id: string,
  responseTime: number,
): void {
  const { statusCode } = res;
  // A client's bad request is the client's problem: info, not a warning; 5xx are errors.
  const level = statusCode >= 500 ? 'error' : 'info';
  const url = req.originalUrl;
  const line = {
    req: {
      id,
      method: req.method,
      url: redactUrl(url),
      // Parsed only when there is one (Express 5 parses req.query at every read).
      ...(url.includes('?') ? { query: redactQuery(req.query) } : {}),
      remoteAddress: req.socket.remoteAddress,
      remotePort: req.socket.remotePort,
    },
    res: { statusCode },
    responseTime,
  };
  const msg = !res.writableFinished
    ? 'request aborted'
    : statusCode >= 500
      ? 'request errored'
      : 'request completed';
  logger[level](line, msg);
}

/** Query parameters whose values are never logged: a key sent as `?token=` must not reach the log. */
const SECRET_PARAM = /token|key|secret|pass|auth|sig|credential/i;
const REDACTED = '[Redacted]';
const SHARE_TOKEN_IN_URL = /jls_[A-Za-z0-9_-]+/g;

/** The parsed query with secret-looking values replaced: a copy, the request's own is left alone. */
function redactQuery(query: unknown): unknown {
  if (!query || typeof query !== 'object') return query;
  return Object.fromEntries(
    Object.entries(query).map(([name, value]) => [
      name,
      SECRET_PARAM.test(name) ? REDACTED : (value as unknown),
    ]),
  );
}

/** `url` with the value of every secret-looking query parameter replaced (names kept, for debugging). */
export function redactUrl(original: string): string {
  // A share link's token in a path (/share/<token>, /v1/shared/<token>) opens the session: not logged.
  const url = original.replace(SHARE_TOKEN_IN_URL, 'jls_[Redacted]');
  const start = url.indexOf('?');
  if (start === -1) return url;
  const query = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      return SECRET_PARAM.test(safeDecode(name)) && eq !== -1 ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, start + 1)}${query.join('&')}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}
