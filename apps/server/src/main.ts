import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { ConfigError, JelmoreConfig, loadConfig } from './config/jelmore.config';

async function bootstrap(): Promise<void> {
  let config: JelmoreConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  configureApp(app);
  await app.listen(config.port, config.host);
  new Logger('Jelmore').log(`Listening on http://${config.host}:${config.port} (OpenAPI at /docs)`);
}

void bootstrap();
