import type { IncomingMessage } from 'node:http';
import { json, urlencoded, type RequestHandler } from 'express';

/** Uploads are read as they come (AttachmentsController), whatever their type: JSON and form files too. */
const isUpload = (req: IncomingMessage) => /^\/v1\/attachments(\/|\?|$)/i.test(req.url ?? '');
const ofType = (pattern: RegExp) => (req: IncomingMessage) =>
  !isUpload(req) && pattern.test(req.headers['content-type'] ?? '');
/** As type-is decides it: a request without either header has no body to read (most GETs). */
const hasBody = (req: IncomingMessage) =>
  req.headers['transfer-encoding'] !== undefined || req.headers['content-length'] !== undefined;

/**
 * The body parsers, named as Nest's own so that it adds none. A JSON body may be `largeLimit` bytes (a
 * turn's attachments inline) only for a caller with a valid key: the parser runs before the guards, and
 * nobody unauthenticated may make the server read and parse tens of megabytes. Others get `smallLimit`
 * (a query of the largest size). A request without a body passes both at once: asking who sent it
 * costs a key digest, and body-parser's own checks a few more microseconds (bench/ rest).
 */
export function bodyParsers(
  authenticated: (req: IncomingMessage) => boolean,
  smallLimit: number,
  largeLimit: number,
): RequestHandler[] {
  const isJson = ofType(/^application\/json\s*(;|$)/i);
  const small = json({ limit: smallLimit, type: isJson });
  const large = json({ limit: largeLimit, type: isJson });
  const jsonParser: RequestHandler = (req, res, next) => {
    if (!hasBody(req) || !isJson(req)) return next();
    const length = Number(req.headers['content-length'] ?? NaN);
    const fits = length <= smallLimit;
    return (fits || !authenticated(req) ? small : large)(req, res, next);
  };
  const forms = urlencoded({
    extended: true,
    type: ofType(/^application\/x-www-form-urlencoded/i),
  });
  const urlencodedParser: RequestHandler = (req, res, next) =>
    hasBody(req) ? forms(req, res, next) : next();
  return [jsonParser, urlencodedParser];
}
