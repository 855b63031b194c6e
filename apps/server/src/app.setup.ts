import type { IncomingMessage } from 'node:http';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { Application, RequestHandler } from 'express';
import helmet from 'helmet';
import { REQUEST_LOGGER } from './common/request-logging';
import { createValidationPipe } from './common/validation';
import { JelmoreConfig } from './config/jelmore.config';
import { ClusterService } from './cluster/cluster.service';
import { ConfiguredIoAdapter } from './gateway/configured-io.adapter';
import { MAX_QUERY_LENGTH } from './api/turn-content';
import { API_VERSION } from './docs/asyncapi.document';
import { setupAsyncApi } from './docs/asyncapi.setup';

/**
 * A REST body or WS message may carry one query of the largest size (4 bytes per character at worst in
 * UTF-8) and a turn's attachments inline (base64: 4 characters per 3 bytes), with room for the framing.
 */
export function maxMessageBytes(maxTurnAttachmentBytes: number): number {
  return 4 * MAX_QUERY_LENGTH + 4 * Math.ceil(maxTurnAttachmentBytes / 3) + 64 * 1024;
}

/** What main.ts and the e2e tests both apply to the app, so tests run the production setup. */
export function configureApp(app: INestApplication): void {
  const config = app.get(JelmoreConfig);
  const messageLimit = maxMessageBytes(config.maxTurnAttachmentBytes);
  // Before anything reads req.ip: the request log, the failed-login limit, the per-address throttle.
  if (config.trustProxy !== undefined) {
    (app.getHttpAdapter().getInstance() as Application).set('trust proxy', config.trustProxy);
  }
  app.use(app.get<RequestHandler>(REQUEST_LOGGER));
  // The OpenAPI page loads inline scripts, so the default content security policy is left out.
  app.use(helmet({ contentSecurityPolicy: false }));
  // Express's own 100 KB would refuse a query of the documented length; Nest then skips its default parser.
  // Uploads are read as they come (AttachmentsController), whatever their type, JSON files too.
  (app as NestExpressApplication).useBodyParser('json', {
    limit: messageLimit,
    type: (req: IncomingMessage) =>
      !req.url?.startsWith('/v1/attachments') &&
      /^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? ''),
  });
  if (config.corsOrigins.length) app.enableCors({ origin: config.corsOrigins });
  const cluster = config.redisUrl ? app.get(ClusterService) : undefined;
  app.useWebSocketAdapter(
    new ConfiguredIoAdapter(app, config.corsOrigins, messageLimit, cluster?.adapter()),
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
