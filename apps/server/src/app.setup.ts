import type { IncomingMessage, Server } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Application, RequestHandler } from 'express';
import helmet from 'helmet';
import { ApiKeysService, bearerToken } from './auth/api-keys.service';
import { DelegationEndpoint } from './mcp/delegation-endpoint';
import { bodyParsers } from './common/body-parsers';
import { replyJsonDirectly } from './common/json-reply';
import { REQUEST_LOGGER } from './common/request-logging';
import { createValidationPipe } from './common/validation';
import { JelmoreConfig } from './config/jelmore.config';
import { ClusterService } from './cluster/cluster.service';
import { ConfiguredIoAdapter } from './gateway/configured-io.adapter';
import { MAX_QUERY_LENGTH } from './api/turn-content';
import { API_VERSION } from './docs/asyncapi.document';
import { setupAsyncApi } from './docs/asyncapi.setup';

/** One query of the largest size (4 bytes per character at worst in UTF-8), with room for its framing. */
export const QUERY_MESSAGE_BYTES = 4 * MAX_QUERY_LENGTH + 64 * 1024;

/**
 * An authenticated REST body may also carry a turn's attachments inline (base64: 4 characters per 3
 * bytes).
 */
export function maxMessageBytes(maxTurnAttachmentBytes: number): number {
  return QUERY_MESSAGE_BYTES + 4 * Math.ceil(maxTurnAttachmentBytes / 3);
}

/** What main.ts and the e2e tests both apply to the app, so tests run the production setup. */
export function configureApp(app: INestApplication): void {
  const config = app.get(JelmoreConfig);
  const messageLimit = maxMessageBytes(config.maxTurnAttachmentBytes);
  // Before anything reads req.ip: the request log, the failed-login limit, the per-address throttle.
  const express = app.getHttpAdapter().getInstance() as Application;
  if (config.trustProxy !== undefined) express.set('trust proxy', config.trustProxy);
  // Helmet would only remove the header again.
  express.disable('x-powered-by');
  replyJsonDirectly(app.getHttpAdapter());
  app.use(app.get<RequestHandler>(REQUEST_LOGGER));
  // A delegating agent calls this node's MCP server on the port it listens on.
  app.get(DelegationEndpoint).attach(app.getHttpServer() as Server);
  // The OpenAPI page loads inline scripts, so the default content security policy is left out.
  app.use(helmet({ contentSecurityPolicy: false }));
  // Express's own 100 KB would refuse a query of the documented length.
  const keys = app.get(ApiKeysService);
  const authenticated = (req: IncomingMessage) =>
    !keys.enabled || keys.authenticate(bearerToken(req.headers.authorization)) !== undefined;
  for (const parser of bodyParsers(authenticated, QUERY_MESSAGE_BYTES, messageLimit))
    app.use(parser);
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins });
  const cluster = config.redisUrl ? app.get(ClusterService) : undefined;
  // A Socket.IO packet is read before its sender is known: a query's size, no more (upload large files).
  app.useWebSocketAdapter(
    new ConfiguredIoAdapter(app, config.corsOrigins, QUERY_MESSAGE_BYTES, cluster?.adapter()),
  );
  app.useGlobalPipes(createValidationPipe());
  app.enableShutdownHooks();
  // Built at the first request for /docs: most nodes never serve it, and it stays in memory once built.
  const document = () =>
    SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('Jelmore')
        .setDescription('AI coding-agent sessions behind one interface, streamed live')
        .setVersion(API_VERSION)
        .addBearerAuth({
          type: 'http',
          scheme: 'bearer',
          // Not a JWT (the builder's default hint): an opaque key.
          bearerFormat: 'API key',
          description: 'An API key from JELMORE_API_KEYS, as `Authorization: Bearer <key>`',
        })
        .build(),
    );
  // The Socket.IO protocol's AsyncAPI document, before Swagger's /docs routes and assets.
  setupAsyncApi(app, 'docs/asyncapi');
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
