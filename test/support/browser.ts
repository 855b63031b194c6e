import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

// What the dashboard's browser specs share: Chromium, a page that records what went wrong, sign-in.

/** Debian's Chromium (`apt-get install chromium`, done by .ci/run). */
const CHROMIUM = process.env.JELMORE_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots, for people to look at (gitignored). */
const ARTIFACTS = join(__dirname, '..', 'artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`No Chromium at ${CHROMIUM}: apt-get install chromium (see .ci/run)`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A page that pushes its console errors, page errors and CSP violations to `problems` (a spec expects
 * none), except console errors `expected` says are on purpose.
 */
export async function watchedPage(
  browser: Browser,
  problems: string[],
  expected: (text: string) => boolean = () => false,
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expected(msg.text())) {
      problems.push(`console: ${msg.text()} (${msg.location().url})`);
    }
  });
  return page;
}

/** Saves a full-page screenshot as test/artifacts/<name>.png. */
export function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Signs the dashboard in with `key` through its form, and waits for the sessions view. */
export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(url);
  await page.locator('#api-key').fill(key);
  await page.locator('#sign-in button[type=submit]').click();
  await page.locator('#new-session').waitFor();
}
