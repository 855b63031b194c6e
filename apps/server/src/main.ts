import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { ConfigError, loadConfig } from './config/jelmore.config';

async function bootstrap(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  configureApp(app);
  const logger = new Logger('Jelmore');
  // Without API keys nothing authenticates callers: only this machine may reach the server.
  const host = config.apiKeys.length === 0 ? '127.0.0.1' : config.host;
  if (host !== config.host) {
    logger.warn(`No JELMORE_API_KEYS: listening on 127.0.0.1 only, not on ${config.host}`);
  } else if (config.apiKeys.length === 0) {
    logger.warn('No JELMORE_API_KEYS: no authentication, loopback only');
  }
  // Nest suspends the sessions and closes on SIGTERM (enableShutdownHooks); this bounds how long.
  process.once('SIGTERM', () => {
    setTimeout(() => {
      logger.error(`Shutdown took over ${config.shutdownGraceSeconds} s: exiting now`);
      process.exit(1);
    }, config.shutdownGraceSeconds * 1000).unref();
  });
  await app.listen(config.port, host);
  logger.log(`Listening on http://${host}:${config.port} (OpenAPI at /docs)`);
}

// Bad configuration, found by loadConfig or once providers are known (TrafficModelsCheck): one line.
bootstrap().catch((err: unknown) => {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
