import { io } from 'socket.io-client';
import type { Socket } from 'socket.io-client';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import type { SessionEvent } from '@jelmore/contracts';
import { StoreConnection } from '@jelmore/sessions';
import { FAKE } from '../libs/sessions/src/middleware/redactor/fake-secrets.spec-helpers';
import { defaultScript, lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { launchChromium, screenshot, watchedPage } from './support/browser';
import { waitUntil } from './support/processes';
import { routes } from './support/routes';
import { connect, EventCollector, startSession } from './support/ws-client';

const ALICE_KEY = 'alice-key-0123456789abcdef';
const BOB_KEY = 'bob-key-0123456789abcdef';
const alice = { authorization: `Bearer ${ALICE_KEY}` };
const bob = { authorization: `Bearer ${BOB_KEY}` };
const SOME_ID = '00000000-0000-4000-8000-000000000000';

interface Share {
  id: string;
  token: string;
  url: string;
  expiresAt: string;
  status: string;
}

describe('read-only share links (real Claude CLI, fake model API, Chromium)', () => {
  let server: TestServer;
  let socket: Socket;
  let browser: Browser;
  let page: Page;
  let sessionId: string;
  let events: EventCollector;
  let share: Share;
  /** Console errors, page errors and CSP violations: the page must have none but refused loads. */
  const problems: string[] = [];
  const http = () => request(server.url);

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: `alice:${ALICE_KEY},bob:${BOB_KEY}`,
        // The log keeps secrets as they came: what a share view shows is redacted by the view itself.
        JELMORE_REDACT_SECRETS: 'false',
        JELMORE_SHARE_MAX_TTL_SECONDS: '86400',
        // Every write route is asked once with a share token: more refusals than the default allows.
        JELMORE_AUTH_FAILURE_LIMIT: '1000',
        JELMORE_RATE_LIMIT_PER_MINUTE: '100000',
        JELMORE_RATE_LIMIT_BURST: '100000',
      },
      fake: {
        // `[[split key]]`: a reply that streams a key cut across pieces, as a real model may.
        script: (req) =>
          textOf(lastUserContent(req)).includes('[[split key]]')
            ? { kind: 'text', pieces: chunks(`Your key is ${FAKE.github}, keep it safe.`, 7) }
            : defaultScript(200)(req),
      },
    });
    socket = await connect(server.url, ALICE_KEY);
    browser = await launchChromium();
    // Refused loads (a revoked link's 410) are on purpose; Chromium logs them.
    page = await watchedPage(browser, problems, (text) => /status of 4\d\d/.test(text));
  });

  afterAll(async () => {
    await browser?.close();
    socket?.disconnect();
    await server?.close();
  });

  const idle = (turns: number) =>
    events.waitFor(
      (all) =>
        all.filter((e) => e.type === 'result').length >= turns &&
        all.at(-1)?.type === 'status' &&
        (all.at(-1) as { to?: string }).to === 'idle',
    );

  it('makes a link for the owner: token and URL once, listed without the token', async () => {
    const started = await startSession(socket, {
      query: `Repeat: my key is ${FAKE.anthropic} thanks`,
      provider: 'claude',
    });
    sessionId = started.session.id;
    events = started.events;
    await idle(1);
    // The log itself has the secret (the redactor middleware is off here).
    expect(JSON.stringify(events.events)).toContain(FAKE.anthropic);

    const created = await http()
      .post(`/v1/sessions/${sessionId}/shares`)
      .set(alice)
      .send({ expiresInSeconds: 3600 })
      .expect(201);
    share = created.body as Share;
    expect(share.token).toMatch(/^jls_[A-Za-z0-9_-]{43}$/);
    expect(share.url).toBe(`${server.url}/share/${share.token}`);
    expect(share.status).toBe('active');
    const listed = await http().get(`/v1/sessions/${sessionId}/shares`).set(alice).expect(200);
    expect(listed.body).toEqual([expect.objectContaining({ id: share.id, status: 'active' })]);
    expect(JSON.stringify(listed.body)).not.toContain(share.token);
    // Only the token's hash is stored.
    const stored = JSON.stringify(
      await server.app.get(StoreConnection).db.selectFrom('shares').selectAll().execute(),
    );
    expect(stored).not.toContain(share.token);
  });

  it('shows the transcript in Chromium without a key, redacted, live as the owner adds a turn', async () => {
    await page.goto(share.url);
    const transcript = page.locator('#transcript');
    await transcript.locator('.ev.result').first().waitFor();
    await transcript.locator('.ev.user', { hasText: '[REDACTED:anthropic_key]' }).waitFor();
    expect(await page.locator('#shared-head').textContent()).toContain('read-only');
    // Nothing to press: no input box, no session buttons, no sign-in.
    for (const selector of ['#input-text', '#send', '#interrupt', '#terminate', '#api-key', '#nav'])
      expect(await page.locator(selector).isVisible()).toBe(false);
    await screenshot(page, 'shares-1-shared-view');

    // The owner sends a turn whose reply streams another secret in pieces: it appears, redacted.
    await http()
      .post(`/v1/sessions/${sessionId}/input`)
      .set(alice)
      .send({ text: '[[split key]]' })
      .expect(202);
    await transcript
      .locator('.ev.assistant', { hasText: 'Your key is [REDACTED:github_token], keep it safe.' })
      .waitFor();
    await idle(2);
    await page.locator('#state .badge', { hasText: /^idle$/ }).waitFor();
    const shown = (await page.locator('body').textContent()) ?? '';
    for (const secret of [FAKE.anthropic, FAKE.github]) expect(shown).not.toContain(secret);
    // The owner's own log still holds it: the view redacted it, not the log.
    expect(JSON.stringify(events.events)).toContain(FAKE.github);
    expect(await page.locator('.ev.permission button').count()).toBe(0);
    expect(problems).toEqual([]);
    await screenshot(page, 'shares-2-live-turn');
  });

  it('serves the session and its events read-only over REST, redacted, without cwd', async () => {
    const session = await http().get(`/v1/shared/${share.token}`).expect(200);
    expect(session.body).toMatchObject({ id: sessionId, state: 'idle', share: { id: share.id } });
    expect(session.body.cwd).toBeUndefined();
    const page1 = await http().get(`/v1/shared/${share.token}/events`).expect(200);
    const shared = page1.body.events as SessionEvent[];
    expect(shared.map((e) => e.seq)).toEqual(events.events.map((e) => e.seq));
    const text = JSON.stringify(page1.body);
    for (const secret of [FAKE.anthropic, FAKE.github]) expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED:anthropic_key]');
    const sse = await http()
      .get(`/v1/shared/${share.token}/events?after=${events.events.length - 1}`)
      .set('accept', 'text/event-stream')
      .buffer(true)
      .parse((res, done) => {
        let body = '';
        res.on('data', (chunk: Buffer) => {
          body += chunk.toString();
          // The replay's last frame came: enough (the stream stays open while the session lives).
          if (body.includes(`id: ${events.events.length}\n`))
            (res as unknown as { destroy(): void }).destroy();
        });
        res.on('close', () => done(null, body));
      })
      .catch((err: { response?: { body: string } }) => err.response);
    expect(String(sse?.body)).toContain(`id: ${events.events.length}\n`);
  });

  it('refuses the share token on every route that takes a key, and on the Socket.IO handshake', async () => {
    const token = { authorization: `Bearer ${share.token}` };
    const refusedWith: string[] = [];
    const all = routes(server.app).filter((r) => r.path.startsWith('/'));
    const keyed: string[] = [];
    for (const route of all) {
      const path = route.path
        .replace(/:\w+/g, route.path.includes('/shares/:token') ? share.token : sessionId)
        .replace(/\{?\/\*\w+\}?/, '');
      const send = (http() as unknown as Record<string, (p: string) => request.Test>)[route.method];
      if ((await send(path)).status !== 401) continue; // a public route: no key to stand in for
      keyed.push(`${route.method} ${route.path}`);
      const res = await send(path).set(token).send({});
      if (res.status !== 403 || res.body.error?.code !== 'SHARE_TOKEN_READ_ONLY')
        refusedWith.push(
          `${route.method} ${route.path}: ${res.status} ${JSON.stringify(res.body)}`,
        );
    }
    expect(refusedWith).toEqual([]);
    // The write routes are among them: input, interrupt, permission reply, delete, fork, attachments.
    for (const write of [
      'post /v1/sessions/:id/input',
      'post /v1/sessions/:id/interrupt',
      'post /v1/sessions/:id/permissions/:requestId',
      'delete /v1/sessions/:id',
      'post /v1/sessions/:id/fork',
      'post /v1/attachments',
      'post /v1/sessions/:id/shares',
      'delete /v1/shares/:token',
    ])
      expect(keyed).toContain(write);
    // Nor is it a key as x-api-key.
    const other = await http()
      .get(`/v1/sessions/${SOME_ID}`)
      .set('x-api-key', share.token)
      .expect(403);
    expect(other.body.error.code).toBe('SHARE_TOKEN_READ_ONLY');
    const refused = await new Promise<{ data?: { code?: string } }>((resolve, reject) => {
      const ws = io(`${server.url}/sessions`, {
        transports: ['websocket'],
        reconnection: false,
        auth: { token: share.token },
      });
      ws.once('connect', () => reject(new Error('a share token opened a socket')));
      ws.once('connect_error', (err) => resolve(err as { data?: { code?: string } }));
    });
    // Refused by name, as REST refuses it, not as a bad key.
    expect(refused.data?.code).toBe('SHARE_TOKEN_READ_ONLY');
    // The session went on untouched.
    expect((await http().get(`/v1/sessions/${sessionId}`).set(alice).expect(200)).body.state).toBe(
      'idle',
    );
  });

  it('refuses bad input: bad lifetimes, unknown tokens, another key, another session', async () => {
    for (const expiresInSeconds of [0, -5, 1.5, 'soon', 86_401]) {
      const res = await http()
        .post(`/v1/sessions/${sessionId}/shares`)
        .set(alice)
        .send({ expiresInSeconds })
        .expect(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
    const unknown = `jls_${'A'.repeat(43)}`;
    for (const token of [unknown, 'not-a-token', `${share.token}x`]) {
      const res = await http().get(`/v1/shared/${token}`).expect(404);
      expect(res.body.error.code).toBe('SHARE_NOT_FOUND');
    }
    // Bob's key sees neither the session nor its links.
    await http().post(`/v1/sessions/${sessionId}/shares`).set(bob).send({}).expect(404);
    await http().get(`/v1/sessions/${sessionId}/shares`).set(bob).expect(404);
    const bobs = await http().delete(`/v1/shares/${share.token}`).set(bob).expect(404);
    expect(bobs.body.error.code).toBe('SHARE_NOT_FOUND');
    // The link's id under another session of the same owner is no link of that session.
    const { session: second } = await startSession(socket, {
      query: 'another',
      provider: 'claude',
    });
    const elsewhere = await http()
      .delete(`/v1/sessions/${second.id}/shares/${share.id}`)
      .set(alice)
      .expect(404);
    expect(elsewhere.body.error.code).toBe('SHARE_NOT_FOUND');
    // The token read another session's events through the keyed route: refused by name.
    const other = await http()
      .get(`/v1/sessions/${second.id}/events`)
      .set({ authorization: `Bearer ${share.token}` })
      .expect(403);
    expect(other.body.error.code).toBe('SHARE_TOKEN_READ_ONLY');
    // And the token reads its own session only, whatever the caller names.
    const own = await http().get(`/v1/shared/${share.token}`).expect(200);
    expect(own.body.id).toBe(sessionId);
  });

  it('ends at its expiry: SHARE_EXPIRED, and listed as expired', async () => {
    const short = (
      await http()
        .post(`/v1/sessions/${sessionId}/shares`)
        .set(alice)
        .send({ expiresInSeconds: 1 })
        .expect(201)
    ).body as Share;
    await waitUntil(
      async () => (await http().get(`/v1/shared/${short.token}`)).status === 410,
      10_000,
    );
    const res = await http().get(`/v1/shared/${short.token}/events`).expect(410);
    expect(res.body.error.code).toBe('SHARE_EXPIRED');
    const listed = await http().get(`/v1/sessions/${sessionId}/shares`).set(alice).expect(200);
    expect(listed.body.find((s: Share) => s.id === short.id).status).toBe('expired');
  });

  it('is revoked by its owner: the open page is told, and the link answers SHARE_REVOKED', async () => {
    const revoked = await http().delete(`/v1/shares/${share.token}`).set(alice).expect(200);
    expect(revoked.body).toMatchObject({ id: share.id, status: 'revoked' });
    // The page that follows it live hears of it.
    await page.locator('#flash', { hasText: 'SHARE_REVOKED' }).waitFor();
    for (const path of [`/v1/shared/${share.token}`, `/v1/shared/${share.token}/events`]) {
      const res = await http().get(path).expect(410);
      expect(res.body.error.code).toBe('SHARE_REVOKED');
    }
    await page.reload();
    await page.locator('#flash', { hasText: 'SHARE_REVOKED' }).waitFor();
    expect(problems.filter((p) => !/status of 4\d\d/.test(p))).toEqual([]);
  });

  it('is made, copied and revoked from the session page', async () => {
    const owner = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await owner.goto(server.url);
    await owner.locator('#api-key').fill(ALICE_KEY);
    await owner.locator('#sign-in button[type=submit]').click();
    await owner.locator('#new-session').waitFor();
    await owner.goto(`${server.url}/#/sessions/${sessionId}`);
    await owner.locator('#share-create').click();
    // The field is filled once the server has answered: wait for the listed link, then read it.
    await owner.locator('#share-list li[data-status=active]').waitFor();
    const field = owner.locator('#share-url');
    expect(await waitUntil(async () => (await field.inputValue()) !== '')).toBe(true);
    const url = await field.inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/share/jls_`));
    await screenshot(owner, 'shares-3-owner-panel');
    // A colleague follows the same session from the link.
    const colleague = await browser.newPage();
    await colleague.goto(url);
    await colleague.locator('#transcript .ev.result').first().waitFor();
    await owner.locator('#share-list li[data-status=active] button.revoke').click();
    await owner.locator('#share-list li[data-status=active]').waitFor({ state: 'detached' });
    await colleague.locator('#flash', { hasText: 'SHARE_REVOKED' }).waitFor();
    await colleague.close();
    await owner.close();
  });
});

function chunks(text: string, size: number): string[] {
  return Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
    text.slice(i * size, (i + 1) * size),
  );
}
