import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { globalAgent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DynamicModule, Module } from '@nestjs/common';
import type { Browser } from 'playwright-core';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { PUSH_CLOCK } from '../apps/server/src/push/push.constants';
import { startTestServer, type TestServer } from './support/app';
import { launchChromium, screenshot, signIn } from './support/browser';
import { directiveFirst, eventIn, eventsOf } from './support/permissions';
import {
  FakePushService,
  notification,
  selfSignedCert,
  TestSubscription,
  until,
} from './support/push-service';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef01';
const asAlice = { authorization: `Bearer ${ALICE}` };
const asBob = { authorization: `Bearer ${BOB}` };
const TTL_SECONDS = 120;

/** Real time plus an offset, as the server reads the action tokens' expiry (PUSH_CLOCK). */
let clockOffset = 0;
@Module({})
class PushClockModule {}
const pushClock: DynamicModule = {
  module: PushClockModule,
  global: true,
  providers: [{ provide: PUSH_CLOCK, useValue: () => Date.now() + clockOffset }],
  exports: [PUSH_CLOCK],
};

describe('Web Push (real server, Claude Code CLI, fake model API, fake push service, Chromium)', () => {
  let server: TestServer;
  let push: FakePushService;
  let browser: Browser;
  let tls: ReturnType<typeof selfSignedCert>;

  beforeAll(async () => {
    tls = selfSignedCert();
    // The fake's certificate is trusted as a real push service's CA would be (web-push uses the global agent).
    globalAgent.options.ca = [tls.cert];
    push = new FakePushService(tls);
    await push.start();
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB}`,
        JELMORE_PERMISSION_TIMEOUT_SECONDS: '600',
        JELMORE_PUSH_TOKEN_TTL_SECONDS: String(TTL_SECONDS),
        // The fake push service is on loopback.
        JELMORE_ALLOW_PRIVATE_NETWORKS: 'true',
      },
      fake: { script: directiveFirst() },
      imports: [pushClock],
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await push?.stop();
    globalAgent.options.ca = undefined;
    tls?.remove();
  });

  async function subscribe(auth: Record<string, string>, path: string): Promise<TestSubscription> {
    const sub = new TestSubscription(`${push.url}${path}`);
    await request(server.url).post('/v1/push/subscriptions').set(auth).send(sub.json).expect(201);
    return sub;
  }

  async function askSession(query: string): Promise<SessionResource> {
    const res = await request(server.url)
      .post('/v1/sessions')
      .set(asAlice)
      .send({ query, permissions: 'ask' })
      .expect(201);
    return res.body as SessionResource;
  }

  const pending = async (id: string) =>
    (await request(server.url).get(`/v1/sessions/${id}/permissions`).set(asAlice).expect(200)).body
      .requests as unknown[];

  it('notifies the key of a permission request, and Allow in the service worker runs the tool', async () => {
    const { publicKey } = (await request(server.url).get('/v1/push/key').expect(200)).body as {
      publicKey: string;
    };
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
    const alice = await subscribe(asAlice, '/alice/1');
    await subscribe(asBob, '/bob/1');

    const session = await askSession('[[bash echo pushed > allowed.txt]]');
    const asked = await notification(push, alice, '/alice/1', 1);
    expect(asked.delivery.headers['content-encoding']).toBe('aes128gcm');
    expect(asked.delivery.headers.authorization).toContain(`k=${publicKey}`);
    expect(asked.payload).toMatchObject({
      kind: 'permission_request',
      sessionId: session.id,
      tool: 'Bash',
      body: 'echo pushed > allowed.txt',
      url: `/#/sessions/${session.id}`,
    });
    expect(asked.payload.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(asked.text).not.toContain(ALICE);
    const token = asked.payload.token!;

    // A token nobody issued, or one named with another session or request: refused, nothing decided.
    for (const [path, body] of [
      [`/v1/push/actions/${randomBytes(32).toString('base64url')}`, { allow: true }],
      [`/v1/push/actions/${token}`, { allow: true, sessionId: randomUUID() }],
      [`/v1/push/actions/${token}`, { allow: true, requestId: 'toolu_other' }],
    ] as const) {
      const res = await request(server.url).post(path).send(body).expect(403);
      expect(res.body.error.code).toBe('PUSH_TOKEN_INVALID');
    }
    expect(await pending(session.id)).toHaveLength(1);

    // The dashboard: sign in, "Notify me" registers the worker and tries to subscribe.
    const context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: server.url });
    const sw = await fetch(`${server.url}/dashboard/sw.js`);
    expect(sw.headers.get('service-worker-allowed')).toBe('/');
    expect(sw.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    // Page errors, console errors and CSP violations, of the page and its worker: none expected.
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => {
      // Chromium's own note on the refused subscription.
      if (
        msg.type() === 'error' &&
        !msg.text().includes('does not support the Push API in incognito')
      ) {
        problems.push(msg.text());
      }
    });
    await signIn(page, server.url, ALICE);
    await page.locator('#notify').click();
    const scope = await page.evaluate<string>('navigator.serviceWorker.ready.then((r) => r.scope)');
    expect(scope).toBe(`${server.url}/`);
    // Playwright's contexts are incognito, where Chromium has no Push API (and a profile on disk waits
    // for ever on its push service, offline): the control says why it could not subscribe.
    await page.locator('#flash:visible, #notify:has-text("Notifications on")').first().waitFor();
    const outcome = await page.evaluate<{ flash: string; button: string }>(
      "({ flash: document.getElementById('flash').textContent, button: document.getElementById('notify').textContent })",
    );
    expect(outcome).toEqual({
      flash: 'PUSH_FAILED: AbortError: Registration failed - permission denied',
      button: 'Notify me',
    });
    // The one step Chromium cannot take here, the push service's subscribe, stood in for: the rest
    // (the server's key as applicationServerKey, the subscription posted with the key) is the page's own.
    const dashboard = new TestSubscription(`${push.url}/alice/dashboard`);
    await page.evaluate(`(() => {
      PushManager.prototype.subscribe = async function (options) {
        window.subscribedWith = options;
        return { toJSON: () => (${JSON.stringify(dashboard.json)}) };
      };
    })()`);
    await page.locator('#notify').click();
    await page.locator('#notify', { hasText: 'Notifications on' }).waitFor();
    expect(await page.evaluate('window.subscribedWith')).toEqual({
      userVisibleOnly: true,
      applicationServerKey: publicKey,
    });
    const listed = (
      await request(server.url).get('/v1/push/subscriptions').set(asAlice).expect(200)
    ).body as Array<{ endpoint: string }>;
    expect(listed.map((s) => s.endpoint)).toContain(dashboard.endpoint);

    // The push message, as the push service would hand it to the browser, delivered to the worker.
    const cdp = await context.newCDPSession(page);
    const registrations: Array<{ registrationId: string; scopeURL: string }> = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e) =>
      registrations.push(...e.registrations),
    );
    await cdp.send('ServiceWorker.enable');
    await until('the worker registration', () =>
      registrations.some((r) => r.scopeURL === `${server.url}/`),
    );
    const { registrationId } = registrations.find((r) => r.scopeURL === `${server.url}/`)!;
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: server.url,
      registrationId,
      data: asked.text,
    });
    const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
    const shown = () =>
      worker.evaluate<Array<{ title: string; body: string; actions: string[] }>>(
        `self.registration.getNotifications().then((ns) =>
          ns.map((n) => ({ title: n.title, body: n.body, actions: n.actions.map((a) => a.action) })))`,
      );
    await until('the notification on screen', async () => (await shown()).length > 0);
    expect(await shown()).toEqual([
      { title: asked.payload.title, body: 'echo pushed > allowed.txt', actions: ['allow', 'deny'] },
    ]);
    await screenshot(page, 'web-push-dashboard');
    expect(problems).toEqual([]);

    // Allow, as a click on the notification's action: the worker answers with the token.
    await worker.evaluate(
      `self.registration.getNotifications().then(([notification]) => {
        self.dispatchEvent(new NotificationEvent('notificationclick', { notification, action: 'allow' }));
      })`,
    );
    const ran = await eventIn(server.url, session.id, 'tool_result', () => true, asAlice);
    expect(ran.isError).toBe(false);
    await eventIn(server.url, session.id, 'result', () => true, asAlice);
    expect(readFileSync(join(session.cwd, 'allowed.txt'), 'utf8').trim()).toBe('pushed');
    const resolved = (await eventsOf(server.url, session.id, asAlice)).filter(
      (e) => e.type === 'permission_resolved',
    );
    expect(resolved).toEqual([expect.objectContaining({ allow: true, by: 'client' })]);

    // The turn's end is a notification too.
    const ended = await notification(push, alice, '/alice/1', 2);
    expect(ended.payload).toMatchObject({ kind: 'result', sessionId: session.id });
    expect(ended.payload.token).toBeUndefined();
    // Bob's key is not told of Alice's session (its sends would have gone with hers).
    expect(push.to('/bob/1')).toEqual([]);

    // The token answered once: again is refused, and nothing changes.
    const before = (await eventsOf(server.url, session.id, asAlice)).length;
    const again = await request(server.url)
      .post(`/v1/push/actions/${token}`)
      .send({ allow: false })
      .expect(403);
    expect(again.body.error.code).toBe('PUSH_TOKEN_USED');
    expect(await eventsOf(server.url, session.id, asAlice)).toHaveLength(before);
  });

  it('refuses an expired token and decides nothing; a gone subscription is deleted', async () => {
    const alice = await subscribe(asAlice, '/alice/2');
    await subscribe(asAlice, '/gone/alice');
    const session = await askSession('[[bash echo late > late.txt]]');
    const asked = await notification(push, alice, '/alice/2', 1);
    expect(asked.payload.kind).toBe('permission_request');

    clockOffset += (TTL_SECONDS + 1) * 1000;
    const res = await request(server.url)
      .post(`/v1/push/actions/${asked.payload.token}`)
      .send({ allow: true })
      .expect(403);
    expect(res.body.error.code).toBe('PUSH_TOKEN_EXPIRED');
    expect(await pending(session.id)).toHaveLength(1);
    expect(existsSync(join(session.cwd, 'late.txt'))).toBe(false);

    // The push service said 410 for that endpoint: the subscription is gone from the key's list.
    await until('the gone subscription deleted', async () => {
      const list = (await request(server.url).get('/v1/push/subscriptions').set(asAlice))
        .body as Array<{
        endpoint: string;
      }>;
      return !list.some((s) => s.endpoint.includes('/gone/'));
    });

    await request(server.url)
      .post(
        `/v1/sessions/${session.id}/permissions/${((await pending(session.id)) as Array<{ requestId: string }>)[0].requestId}`,
      )
      .set(asAlice)
      .send({ allow: false })
      .expect(200);
    await eventIn(server.url, session.id, 'result', () => true, asAlice);
    expect(existsSync(join(session.cwd, 'late.txt'))).toBe(false);
  });

  it('validates subscriptions and answers, and keeps each key to its own', async () => {
    const bad = async (body: unknown, field: string) => {
      const res = await request(server.url)
        .post('/v1/push/subscriptions')
        .set(asAlice)
        .send(body as object)
        .expect(400);
      expect(res.body.error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(res.body.error.message).toContain(field);
    };
    const good = new TestSubscription(`${push.url}/alice/3`).json;
    await bad({ ...good, endpoint: 'http://127.0.0.1/x' }, 'endpoint');
    await bad({ ...good, keys: { ...good.keys, p256dh: 'AAAA' } }, 'keys.p256dh');
    await bad({ ...good, keys: { ...good.keys, auth: 'x' } }, 'keys.auth');
    await bad({ ...good, extra: 1 }, 'extra');
    await request(server.url).post('/v1/push/subscriptions').send(good).expect(401);
    const action = await request(server.url)
      .post(`/v1/push/actions/${randomBytes(32).toString('base64url')}`)
      .send({ allow: 'yes' })
      .expect(400);
    expect(action.body.error.code).toBe('VALIDATION_FAILED');

    const bobs = (await request(server.url).get('/v1/push/subscriptions').set(asBob).expect(200))
      .body as Array<{ id: string; owner: string }>;
    expect(bobs.map((s) => s.owner)).toEqual(['bob']);
    expect(JSON.stringify(bobs)).not.toContain('p256dh');
    const alices = (
      await request(server.url).get('/v1/push/subscriptions').set(asAlice).expect(200)
    ).body as Array<{ owner: string }>;
    expect(alices.every((s) => s.owner === 'alice')).toBe(true);
    await request(server.url)
      .delete(`/v1/push/subscriptions/${bobs[0].id}`)
      .set(asAlice)
      .expect(404);
    await request(server.url).delete(`/v1/push/subscriptions/${bobs[0].id}`).set(asBob).expect(200);
  });

  it('stops the boot with one line on a bad VAPID key', async () => {
    const main = join(__dirname, '..', 'dist', 'apps', 'server', 'src', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
    const dir = mkdtempSync(join(tmpdir(), 'jelmore-push-boot-'));
    try {
      const child = spawn(process.execPath, [main], {
        env: {
          ...process.env,
          JELMORE_DATA_DIR: join(dir, 'data'),
          JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
          JELMORE_PORT: '0',
          JELMORE_VAPID_PUBLIC_KEY: 'not-a-key',
          JELMORE_VAPID_PRIVATE_KEY: 'c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3I',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(1);
      expect(stderr.trimEnd().split('\n')).toEqual([
        'Invalid configuration: JELMORE_VAPID_PUBLIC_KEY must be a base64url P-256 public key of 65 bytes (got "not-a-key")',
      ]);
      expect(stderr).not.toContain('c2VjcmV0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
