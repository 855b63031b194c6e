import type { HttpServer } from '@nestjs/common';
import type { Response } from 'express';

type Reply = (response: Response, body: unknown, statusCode?: number) => unknown;

/**
 * A route's plain JSON result is written with `res.end`, not Express's `res.json`: that one parses and
 * re-sets the content type twice, copies the body into a Buffer and hashes it for an ETag, then checks
 * freshness: a seventh of the server's CPU for a get and for a list of 100 (bench/ rest). No client of
 * ours sends If-None-Match for live state, so route results carry no ETag; what a handler sends itself
 * (`@Res()`: the dashboard's files, downloads) and error bodies still go through Express.
 */
export function replyJsonDirectly(adapter: HttpServer): void {
  const express = adapter.reply.bind(adapter) as Reply;
  const direct: Reply = (res, body, statusCode) => {
    // Anything else (no body, a stream, an Error, bytes, a type a handler set) is Nest's own case.
    if (!isPlainJson(body) || res.getHeader('content-type') !== undefined)
      return express(res, body, statusCode);
    if (statusCode !== undefined) res.statusCode = statusCode;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    // Node sets Content-Length from a body given to end() (and sends none for HEAD).
    return res.end(JSON.stringify(body));
  };
  adapter.reply = direct;
}

function isPlainJson(body: unknown): body is object {
  if (typeof body !== 'object' || body === null) return false;
  if (Array.isArray(body)) return true;
  const prototype = Object.getPrototypeOf(body) as unknown;
  return prototype === Object.prototype || prototype === null;
}
