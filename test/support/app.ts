import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ThrottlerStorage } from '@nestjs/throttler';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppModule } from '../../apps/server/src/app.module';
import { configureApp } from '../../apps/server/src/app.setup';
import { WindowCounterStorage } from '../../apps/server/src/auth/window-counter.storage';
import { loadConfig } from '../../apps/server/src/config/jelmore.config';
import { FakeAnthropicServer, FakeAnthropicOptions } from '../fixtures/fake-anthropic';
import { TestClock, testClockModule } from './test-clock';

export interface TestServer {
  app: INestApplication;
  url: string;
  fake: FakeAnthropicServer;
  dir: string;
  close(): Promise<void>;
}

/**
 * The real app (production setup, real Claude Code CLI from node_modules) on a loopback port, with its
 * own data and workspace directories and a fake Anthropic API as the only stand-in.
 */
export async function startTestServer(
  options: {
    env?: Record<string, string>;
    fake?: FakeAnthropicOptions;
    /** Reuse the data and workspace of an earlier server (a restart); kept on close. */
    dir?: string;
    /** The clock of the server's rate limits (providers' session starts, requests, Socket.IO events). */
    clock?: TestClock;
    /** More modules of the app, as an operator adds theirs (e.g. session middlewares). */
    imports?: ModuleMetadata['imports'];
  } = {},
): Promise<TestServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'jelmore-e2e-'));
  const fake = new FakeAnthropicServer(options.fake);
  const fakeUrl = await fake.start();
  // The agent's environment is copied from the server's through an allow-list, as in production.
  process.env.ANTHROPIC_BASE_URL = fakeUrl;
  process.env.ANTHROPIC_API_KEY = 'test-key-not-secret';
  const config = loadConfig({
    JELMORE_DATA_DIR: join(dir, 'data'),
    JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
    JELMORE_HOST: '127.0.0.1',
    JELMORE_PORT: '0',
    JELMORE_LOG_LEVEL: 'warn',
    ...options.env,
  });
  const { clock } = options;
  let testing = Test.createTestingModule({
    imports: [
      AppModule.forRoot(config),
      ...(clock ? [testClockModule(clock)] : []),
      ...(options.imports ?? []),
    ],
  });
  if (clock) {
    testing = testing
      .overrideProvider(ThrottlerStorage)
      .useValue(new WindowCounterStorage(clock.wall));
  }
  const moduleRef = await testing.compile();
  const app = moduleRef.createNestApplication({ logger: ['error', 'warn'] });
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    url: url.replace('[::1]', '127.0.0.1'),
    fake,
    dir,
    async close() {
      await app.close();
      await fake.stop();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
