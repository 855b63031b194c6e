import type { INestApplication } from '@nestjs/common';
import type { Application } from 'express';
import { buildAsyncApiDocument } from './asyncapi.document';
import { renderAsyncApiPage } from './asyncapi.html';

/**
 * Serves the AsyncAPI document of the Socket.IO protocol at `/<path>.json` and a page of it at `/<path>`.
 * Mounted on the HTTP server itself, as SwaggerModule mounts /docs: public, outside the API's guards.
 */
export function setupAsyncApi(app: INestApplication, path: string): void {
  const express = app.getHttpAdapter().getInstance() as Application;
  // Built at the first request, as the OpenAPI document is: most nodes never serve it.
  let text: string | undefined;
  let page: string | undefined;
  express.get(`/${path}.json`, (_req, res) => {
    text ??= JSON.stringify(buildAsyncApiDocument());
    res.type('application/json').send(text);
  });
  express.get(`/${path}`, (_req, res) => {
    page ??= renderAsyncApiPage(buildAsyncApiDocument(), `/${path}.json`);
    res.type('text/html').send(page);
  });
}
