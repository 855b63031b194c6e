import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { pino, type Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** The request log's middleware, built with the app's module (see AppModule.forRoot). */
export const REQUEST_LOGGER = Symbol('REQUEST_LOGGER');

/** The process's one pino logger: Nest's logs (through nestjs-pino) and the request log write to it. */
export function createRootLogger(level: string): Logger {
  return pino({
    level,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
  });
}

/**
 * One JSON line per HTTP request, with its id: a caller's `x-request-id` is kept (so its logs and ours
 * line up), else one is made; either way the response carries it. Mounted with `app.use` rather than
 * nestjs-pino's middleware, which also runs each request inside an AsyncLocalStorage: on Node 20 the
 * first such request turns on promise hooks for the whole process, and from then on every promise of
 * every session pays for them (about 15% of the CPU of streaming events, and more garbage). So what Nest
 * logs while serving a request carries its context's name, not the request id; the request's line has it.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (req, res) => {
      const given = req.headers['x-request-id'];
      const id = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    // A client's bad request is the client's problem: info, not a warning; 5xx are errors.
    customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
    // Probes and scrapes would drown the log.
    autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
    serializers: { req: redactRequest },
  }) as RequestHandler;
}

/** Query parameters whose values are never logged: a key sent as `?token=` must not reach the log. */
const SECRET_PARAM = /token|key|secret|pass|auth|sig|credential/i;
const REDACTED = '[Redacted]';

/** The serialized request (pino's, a copy) with secret-looking query values replaced. */
function redactRequest(req: { url?: string; query?: unknown }): object {
  if (req.url) req.url = redactUrl(req.url);
  if (req.query && typeof req.query === 'object') {
    // The request's own query object: replaced, never changed.
    req.query = Object.fromEntries(
      Object.entries(req.query).map(([name, value]) => [
        name,
        SECRET_PARAM.test(name) ? REDACTED : (value as unknown),
      ]),
    );
  }
  return req;
}

/** `url` with the value of every secret-looking query parameter replaced (names kept, for debugging). */
export function redactUrl(url: string): string {
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
