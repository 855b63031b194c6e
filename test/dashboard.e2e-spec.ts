import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { JelmoreClient } from '@jelmore/client';
import { startTestServer, TestServer } from './support/app';
import { launchChromium, screenshot, watchedPage } from './support/browser';
import { makeRepository } from './support/git';
import { pngImage, sha256 } from './support/media';

const KEY = 'dash-key-0123456789abcdef';

/** What the tests use of the page's classes and elements. */
interface BrowserEvents {
  DataTransfer: new () => { items: { add(file: unknown): void } };
  File: new (parts: Uint8Array[], name: string, options: { type: string }) => unknown;
  DragEvent: new (type: string, init: object) => Event;
  ClipboardEvent: new (type: string, init: object) => Event;
}
interface Tagged {
  dataset: Record<string, string | undefined>;
}
interface Thumbnail extends Tagged {
  naturalWidth: number;
  naturalHeight: number;
  src: string;
}

describe('the web dashboard in Chromium (real server, Claude Code CLI, fake model API)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let api: JelmoreClient;
  /** Console errors, page errors and CSP violations: the page must have none. */
  const problems: string[] = [];

  const shot = (name: string) => screenshot(page, `dashboard-${name}`);
  const transcript = () => page.locator('#transcript');
  const waitForState = (state: string) =>
    page.locator('#state .badge', { hasText: new RegExp(`^${state}$`) }).waitFor();

  beforeAll(async () => {
    server = await startTestServer({
      // A tenant key: its sessions may work in the shared folder, where the worktree test's repository is.
      env: { JELMORE_API_KEYS: `dash:${KEY}`, JELMORE_SHARED_WORKSPACE: 'shared' },
      fake: { slowDelayMs: 300 },
    });
    api = new JelmoreClient({ url: server.url, apiKey: KEY });
    browser = await launchChromium();
    // The wrong key in the sign-in test is refused on purpose; Chromium logs that 401.
    page = await watchedPage(browser, problems, (text) => text.includes('status of 401'));
  });

  afterAll(async () => {
    await browser?.close();
    api?.close();
    await server?.close();
  });

  it('serves only its own files, under a strict content security policy', async () => {
    const index = await fetch(server.url);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await index.text()).toContain('<script type="module" src="/dashboard/app.js">');
    const app = await fetch(`${server.url}/dashboard/app.js`);
    expect(app.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    for (const path of ['nope.js', 'index.html', '..%2Fdashboard.controller.ts']) {
      expect((await fetch(`${server.url}/dashboard/${path}`)).status).toBe(404);
    }
    // The Socket.IO client the page imports, from the server itself.
    const io = await fetch(`${server.url}/socket.io/socket.io.esm.min.js`);
    expect(io.status).toBe(200);
    expect(await io.text()).toContain('as io');
  });

  it('signs in with an API key, refusing a wrong one', async () => {
    await page.goto(server.url);
    await page.locator('#api-key').fill('wrong-key-0123456789');
    await shot('1-sign-in');
    await page.locator('#sign-in button[type=submit]').click();
    await page.locator('#sign-in-error', { hasText: 'The server refused this key' }).waitFor();
    await page.locator('#api-key').fill(KEY);
    await page.locator('#sign-in button[type=submit]').click();
    await page.locator('#new-session').waitFor();
    expect(await page.locator('#nav').isVisible()).toBe(true);
  });

  it('creates a session and shows its text as it streams, with state and cost', async () => {
    await page.locator('#query').fill('[[slow 6]]');
    await page.locator('#provider').selectOption('claude');
    await page.locator('#new-session button[type=submit]').click();
    await page.waitForURL(/#\/sessions\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;

    // Mid-turn: some pieces shown, not all, and the session running.
    await transcript().locator('.ev.assistant', { hasText: 'piece 2.' }).waitFor();
    const midway = await transcript().locator('.ev.assistant').last().textContent();
    expect(midway).not.toContain('piece 6.');
    expect(await page.locator('#state').textContent()).toBe('running');
    expect(await page.locator('#connection').textContent()).toBe('live');
    await shot('2-streaming');

    await transcript().locator('.ev.result').waitFor();
    expect(await transcript().locator('.ev.assistant').last().textContent()).toBe(
      'piece 1. piece 2. piece 3. piece 4. piece 5. piece 6. ',
    );
    await waitForState('idle');
    expect(await page.locator('#cost').textContent()).toMatch(/^\d+ in \/ \d+ out · \$0\.\d+$/);
    expect(await page.locator('#interrupt').isDisabled()).toBe(true);
    expect((await api.getSession(id)).state).toBe('idle');
  });

  it('sends input, shows tool calls with their output, and interrupts a running turn', async () => {
    await page.locator('#input-text').fill('hello dashboard');
    await page.locator('#send').click();
    await transcript().locator('.ev.assistant', { hasText: 'Echo: hello dashboard' }).waitFor();
    expect(await page.locator('#input-text').inputValue()).toBe('');
    await waitForState('idle');

    await page.locator('#input-text').fill('[[bash echo from-the-dashboard]]');
    await page.locator('#send').click();
    const tool = transcript().locator('.ev.tool', { hasText: 'Bash' });
    await tool.locator('.tool-mark', { hasText: '✓' }).waitFor();
    await tool.locator('summary').click();
    expect(await tool.locator('.tool-output').textContent()).toContain('from-the-dashboard');
    expect(await tool.locator('summary code').textContent()).toBe('echo from-the-dashboard');
    await waitForState('idle');
    await shot('3-tool-call');

    await page.locator('#input-text').fill('[[slow 40]]');
    await page.locator('#send').click();
    await transcript().locator('.ev.assistant').last().filter({ hasText: 'piece 2.' }).waitFor();
    await page.locator('#interrupt').click();
    await transcript().locator('.ev.result.interrupted').waitFor();
    await waitForState('idle');
    expect(await transcript().locator('.ev.assistant').last().textContent()).not.toContain(
      'piece 40.',
    );
  });

  it('terminates the session, and the list shows it with state, provider and cost', async () => {
    const id = page.url().split('/').at(-1)!;
    await page.locator('#terminate').click();
    await waitForState('terminated');
    await transcript().locator('.ev.status', { hasText: '● terminated' }).waitFor();
    expect(await page.locator('#send').isDisabled()).toBe(true);
    expect(await page.locator('#terminate').isDisabled()).toBe(true);
    await shot('4-terminated');
    const session = await api.getSession(id);
    expect(session.state).toBe('terminated');
    // The live total (usage events) agrees with the server's.
    expect(await page.locator('#cost').textContent()).toBe(
      `${session.usage.inputTokens} in / ${session.usage.outputTokens} out · $${session.usage.costUsd.toFixed(6).replace(/0+$/, '')}`,
    );

    await page.locator('#nav a', { hasText: 'Sessions' }).click();
    const row = page.locator(`#sessions tr[data-session-id="${id}"]`);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 5)).toEqual([
      id.slice(0, 8),
      '[[slow 6]]',
      'terminated',
      'claude',
      'claude-sonnet-5-5',
    ]);
    expect(cells[5]).toBe(`$${session.usage.costUsd.toFixed(6).replace(/0+$/, '')}`);
    await shot('5-sessions');
  });

  it('lists providers with health, circuit and load', async () => {
    await page.locator('#nav a', { hasText: 'Providers' }).click();
    const claude = page.locator('#providers tr[data-provider="claude"]');
    await claude.waitFor();
    const cells = await claude.locator('td').allTextContents();
    expect(cells[0]).toBe('claude default');
    expect(cells[1]).toBe('up');
    expect(cells[2]).toBe('closed');
    expect(cells[3]).toBe('0/10');
    expect(cells[4]).toContain('claude-sonnet-5-5 (sonnet)');
    await page.locator('#check-providers').click();
    await page.locator('#check-providers:not([disabled])').waitFor();
    await shot('6-providers');
  });

  it('answers the permission requests of an ask session: Allow runs the tool, Deny refuses it', async () => {
    const session = await api.createSession({
      query: '[[bash echo allowed-here > allowed.txt]]',
      permissions: 'ask',
    });
    await page.goto(`${server.url}/#/sessions/${session.id}`);
    const first = transcript().locator('.ev.permission').first();
    expect(await first.locator('code').textContent()).toBe('echo allowed-here > allowed.txt');
    await first.locator('button.allow').click();
    await first.locator('.outcome', { hasText: 'allowed by client' }).waitFor();
    expect(await first.locator('button.allow').isDisabled()).toBe(true);
    await transcript().locator('.ev.tool .tool-mark', { hasText: '✓' }).waitFor();
    await waitForState('idle');
    expect(readFileSync(join(session.cwd, 'allowed.txt'), 'utf8').trim()).toBe('allowed-here');

    await page.locator('#input-text').fill('[[bash echo denied-here > denied.txt]]');
    await page.locator('#send').click();
    const second = transcript().locator('.ev.permission').nth(1);
    await second.locator('button.deny').click();
    await second.locator('.outcome', { hasText: 'denied by client' }).waitFor();
    await transcript().locator('.ev.tool .tool-mark', { hasText: '✗' }).waitFor();
    await waitForState('idle');
    expect(existsSync(join(session.cwd, 'denied.txt'))).toBe(false);
    await shot('7-permissions');
    await api.terminate(session.id);
  });

  it('takes a dropped and a pasted image, which reach the model, and shows them in the transcript', async () => {
    const dropped = pngImage(71, 16, 12);
    const pasted = pngImage(72, 10, 20);
    /** Hands the page a PNG File as a drop or a paste does, on `selector`. */
    const give = (selector: string, how: 'drop' | 'paste', png: Buffer, name: string) =>
      page.locator(selector).evaluate(
        (target, { how, base64, name }) => {
          // The browser's classes (this project compiles without the DOM library).
          const dom = globalThis as unknown as BrowserEvents;
          const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          const transfer = new dom.DataTransfer();
          transfer.items.add(new dom.File([bytes], name, { type: 'image/png' }));
          const init = { bubbles: true, cancelable: true };
          target.dispatchEvent(
            how === 'drop'
              ? new dom.DragEvent('drop', { ...init, dataTransfer: transfer })
              : new dom.ClipboardEvent('paste', { ...init, clipboardData: transfer }),
          );
        },
        { how, base64: png.toString('base64'), name },
      );
    const modelGot = (png: Buffer) =>
      server.fake
        .agentRequests()
        .flatMap((r) => r.messages.flatMap((m) => (typeof m.content === 'string' ? [] : m.content)))
        .some((block) => {
          const source = (block as { source?: { type?: string; data?: string } }).source;
          return (
            source?.type === 'base64' &&
            sha256(Buffer.from(source.data ?? '', 'base64')) === sha256(png)
          );
        });

    await page.goto(`${server.url}/#/`);
    await page.locator('#query').fill('what is in the dropped image?');
    await page.locator('#provider').selectOption('claude');
    await give('#query', 'drop', dropped, 'dropped.png');
    await page.locator('#new-session .chip[data-attachment-id]').waitFor();
    await page.locator('#new-session button[type=submit]').click();
    await page.waitForURL(/#\/sessions\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    await transcript().locator('.ev.result').waitFor();
    expect(modelGot(dropped)).toBe(true);

    await give('#input-text', 'paste', pasted, 'pasted.png');
    const chip = page.locator('#input .chip[data-attachment-id]');
    await chip.waitFor();
    // The chip shows the local file before sending; the transcript, the server's copy after.
    expect(await chip.locator('img.thumb').getAttribute('src')).toMatch(/^blob:/);
    await page.locator('#input-text').fill('and this one?');
    await page.locator('#send').click();
    await transcript().locator('.ev.assistant', { hasText: 'Echo: and this one?' }).waitFor();
    expect(await page.locator('#input .chip').count()).toBe(0);
    expect(modelGot(pasted)).toBe(true);

    const inputs = transcript().locator('.ev.user');
    await inputs.nth(1).waitFor();
    expect(await inputs.locator('.user-text').allTextContents()).toEqual([
      'what is in the dropped image?',
      'and this one?',
    ]);
    // Each thumbnail is the attachment itself, fetched with the key and decoded: its size is the PNG's.
    const thumbs = inputs.locator('img.thumb');
    await page.waitForFunction(
      "[...document.querySelectorAll('#transcript .ev.user img.thumb')].every((img) => img.naturalWidth > 0)",
    );
    const sizes = await thumbs.evaluateAll((imgs) =>
      (imgs as unknown as Thumbnail[]).map((img) => [
        img.naturalWidth,
        img.naturalHeight,
        img.src.slice(0, 5),
      ]),
    );
    expect(sizes).toEqual([
      [16, 12, 'blob:'],
      [10, 20, 'blob:'],
    ]);
    const ids = await thumbs.evaluateAll((imgs) =>
      (imgs as unknown as Thumbnail[]).map((img) => img.dataset.attachmentId),
    );
    expect((await api.attachment(ids[0]!)).equals(dropped)).toBe(true);
    expect((await api.attachment(ids[1]!)).equals(pasted)).toBe(true);
    expect(await page.locator('#session-title').textContent()).toBe(
      'what is in the dropped image?',
    );
    await shot('8-images');
    await api.terminate(id);
  });

  it("shows a worktree session's checkpoints with each turn's diff, forks at one and rewinds to one", async () => {
    makeRepository(join(server.dir, 'workspace', 'shared', 'repo'), { 'README.md': '# demo\n' });
    // Turn 2 writes markup: its patch must show as text, never run or become elements.
    const markup = '<script>window.__x=1</script>';
    await page.goto(`${server.url}/#/`);
    await page.locator('#query').fill('[[bash echo one > a.txt]] alpha-turn');
    await page.locator('#provider').selectOption('claude');
    await page.locator('#cwd').fill('shared/repo');
    await page.locator('#worktree').check();
    await page.locator('#new-session button[type=submit]').click();
    await page.waitForURL(/#\/sessions\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').at(-1)!;
    expect(await page.locator('#session-worktree').textContent()).toBe(`worktree jelmore/${id}`);
    const checkpoint = (turn: number) =>
      transcript().locator(`.ev.checkpoint[data-type=checkpoint][data-turn="${turn}"]`);
    await checkpoint(1).waitFor();
    await waitForState('idle');
    await page.locator('#input-text').fill(`[[bash echo '${markup}' > b.txt]] beta-turn`);
    await page.locator('#send').click();
    await checkpoint(2).waitFor();
    await waitForState('idle');

    const checkpoints = await api.checkpoints(id);
    expect(checkpoints.map((c) => c.turn)).toEqual([0, 1, 2]);
    for (const { turn, commit, filesChanged } of checkpoints) {
      expect(await checkpoint(turn).getAttribute('data-commit')).toBe(commit);
      const files = `${filesChanged} file${filesChanged === 1 ? '' : 's'}`;
      expect(await checkpoint(turn).locator('.checkpoint-line').textContent()).toMatch(
        new RegExp(`^✓ checkpoint turn ${turn} · ${files} · ${commit.slice(0, 7)}`),
      );
    }
    // The start has no turn before it to compare with, nor a conversation to fork.
    expect(await checkpoint(0).locator('button.diff-toggle, button.fork').count()).toBe(0);

    // Turn 2's diff: its own file only, the patch as the server gives it, as text.
    const toggle = checkpoint(2).locator('button.diff-toggle');
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    const panel = checkpoint(2).locator('.diff');
    const rows = panel.locator('table.diff-files tr[data-path]');
    await rows.first().waitFor();
    expect(
      await rows.evaluateAll((trs) =>
        (trs as unknown as Tagged[]).map((tr) => [tr.dataset.path, tr.dataset.status]),
      ),
    ).toEqual([['b.txt', 'added']]);
    const patch = await panel.locator('pre.diff-patch').textContent();
    expect(patch).toBe(await api.patch(id, { from: 1, to: 2 }));
    expect(patch).toContain(`+${markup}`);
    expect(await transcript().locator('script').count()).toBe(0);
    expect(await page.evaluate('window.__x')).toBeUndefined();
    await shot('9-checkpoints');
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await panel.isHidden()).toBe(true);

    // Fork at turn 1 opens the new session, in a worktree of its own with turn 1's files.
    await checkpoint(1).locator('button.fork').click();
    await page.waitForURL(
      (url) => /^#\/sessions\/[0-9a-f-]{36}$/.test(url.hash) && !url.hash.endsWith(id),
    );
    const forkId = page.url().split('/').at(-1)!;
    const parentLink = page.locator('#session-parent');
    expect(await parentLink.textContent()).toBe(`forked from ${id.slice(0, 8)} at turn 1`);
    expect(await page.locator('#session-worktree').textContent()).toBe(
      `worktree jelmore/${forkId}`,
    );
    const fork = await api.getSession(forkId);
    expect(fork).toMatchObject({ parentId: id, forkedFrom: { sessionId: id, turn: 1 } });
    expect(readFileSync(join(fork.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    expect(existsSync(join(fork.cwd, 'b.txt'))).toBe(false);
    await shot('10-fork');

    // Back to the parent by its link; rewinding it to turn 1 (confirmed) takes turn 2's file away.
    await parentLink.click();
    await page.waitForURL((url) => url.hash === `#/sessions/${id}`);
    await checkpoint(2).waitFor();
    await waitForState('idle');
    const parent = await api.getSession(id);
    expect(existsSync(join(parent.cwd, 'b.txt'))).toBe(true);
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void dialog.accept();
      }),
    );
    await checkpoint(1).locator('button.rewind').click();
    expect(await asked).toContain('turn 1');
    await checkpoint(1)
      .locator('.outcome', { hasText: 'rewound · 1 file changed · conversation truncated' })
      .waitFor();
    expect(existsSync(join(parent.cwd, 'b.txt'))).toBe(false);
    expect(readFileSync(join(parent.cwd, 'a.txt'), 'utf8')).toBe('one\n');
    await shot('11-rewind');
    await api.terminate(forkId);
    await api.terminate(id);
  });

  it('signs out, and ran without console errors or CSP violations', async () => {
    await page.locator('#sign-out').click();
    await page.locator('#sign-in').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    expect(problems).toEqual([]);
  });
});
