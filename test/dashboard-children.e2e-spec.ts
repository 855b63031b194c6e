import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Browser, Page } from 'playwright-core';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { DelegationEndpoint } from '../apps/server/src/mcp/delegation-endpoint';
import { startTestServer, TestServer } from './support/app';
import { launchChromium, screenshot, signIn, watchedPage } from './support/browser';
import { eventIn } from './support/permissions';

const OWNER = 'kids';
const KEY = 'kids-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${KEY}` };

interface Tagged {
  dataset: Record<string, string | undefined>;
}
/** The browser's getComputedStyle (this project compiles without the DOM library). */
interface Styled {
  getComputedStyle(el: unknown): { paddingLeft: string };
}

/**
 * Delegation trees in the dashboard. The test plays the delegating agents: it calls Jelmore's MCP server
 * with a delegation token of the parent session, as the parent's agent would with the one in its MCP
 * config, so scripted sessions make the tree; a Claude child (the real CLI, fake model API) asks for a
 * permission, which the parent's view answers.
 */
describe('the dashboard shows delegated children as a tree (Chromium, MCP as the agents)', () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  const agents: Client[] = [];
  /** Console errors, page errors and CSP violations: the page must have none. */
  const problems: string[] = [];
  let parent: SessionResource;
  let child: SessionResource;
  let grandchild: SessionResource;
  let fork: SessionResource;
  let parentAgent: Client;

  const transcript = () => page.locator('#transcript');
  const shot = (name: string) => screenshot(page, `dashboard-children-${name}`);

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_API_KEYS: `${OWNER}:${KEY}`,
        JELMORE_SCRIPTED_ENABLED: 'true',
        // Children delegate too, so that a child starts a grandchild.
        JELMORE_DELEGATION_DEFAULT: 'true',
      },
    });
    browser = await launchChromium();
    page = await watchedPage(browser, problems);
    await signIn(page, server.url, KEY);
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.close()));
    // Ending the parent ends its children.
    if (parent) await request(server.url).delete(`/v1/sessions/${parent.id}`).set(AUTH);
    if (fork) await request(server.url).delete(`/v1/sessions/${fork.id}`).set(AUTH);
    await browser?.close();
    await server?.close();
  });

  async function create(body: object): Promise<SessionResource> {
    const res = await request(server.url).post('/v1/sessions').set(AUTH).send(body);
    if (res.status !== 201) throw new Error(`create: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as SessionResource;
  }

  /** Jelmore's MCP server as `session`'s agent reaches it: with a delegation token of the session. */
  async function agentOf(session: SessionResource, depth: number): Promise<Client> {
    const token = server.app
      .get(DelegationEndpoint)
      .tokens.mint({ id: session.id, owner: OWNER, depth });
    const agent = new Client({ name: 'dashboard-children-e2e', version: '1.0.0' });
    await agent.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    agents.push(agent);
    return agent;
  }

  async function startChild(agent: Client, args: Record<string, unknown>) {
    const result = (await agent.callTool({ name: 'start_session', arguments: args }, undefined, {
      timeout: 60_000,
    })) as CallToolResult;
    if (result.isError) throw new Error(`start_session: ${JSON.stringify(result.content)}`);
    return (result.structuredContent as { session: SessionResource }).session;
  }

  it('lists children nested under their parent, at any depth, and a fork at the top', async () => {
    parent = await create({ provider: 'scripted', query: 'plan the work', delegation: true });
    await eventIn(server.url, parent.id, 'result', () => true, AUTH);
    parentAgent = await agentOf(parent, 0);
    child = await startChild(parentAgent, {
      provider: 'scripted',
      query: 'child task',
      wait: true,
    });
    grandchild = await startChild(await agentOf(child, 1), {
      provider: 'scripted',
      query: 'grandchild task',
      wait: true,
    });
    expect(grandchild.parentId).toBe(child.id);
    // A fork has a parentId too, but is not a child.
    fork = (
      await request(server.url)
        .post(`/v1/sessions/${parent.id}/fork`)
        .set(AUTH)
        .send({ turn: 1 })
        .expect(201)
    ).body as SessionResource;

    await page.goto(`${server.url}/#/`);
    await page.locator(`#sessions tr[data-session-id="${grandchild.id}"]`).waitFor();
    const rows = await page
      .locator('#sessions tbody tr')
      .evaluateAll((trs) =>
        (trs as unknown as Tagged[]).map(({ dataset }) => [
          dataset.sessionId,
          dataset.depth,
          dataset.parentId,
        ]),
      );
    const at = rows.findIndex(([id]) => id === parent.id);
    expect(rows.slice(at, at + 3)).toEqual([
      [parent.id, '0', undefined],
      [child.id, '1', parent.id],
      [grandchild.id, '2', child.id],
    ]);
    expect(rows).toContainEqual([fork.id, '0', undefined]);
    expect(rows).toHaveLength(4);

    // Each level is indented further (a CSS variable the content security policy lets through).
    const indent = (id: string) =>
      page
        .locator(`#sessions tr[data-session-id="${id}"] td.tree-cell`)
        .evaluate((td) =>
          parseFloat((globalThis as unknown as Styled).getComputedStyle(td).paddingLeft),
        );
    const [p0, p1, p2] = [
      await indent(parent.id),
      await indent(child.id),
      await indent(grandchild.id),
    ];
    expect(p1).toBeGreaterThan(p0);
    expect(p2).toBeGreaterThan(p1);
    const childRow = page.locator(`#sessions tr[data-session-id="${child.id}"] td`);
    expect((await childRow.allTextContents()).slice(0, 5)).toEqual([
      child.id.slice(0, 8),
      'child task',
      'idle',
      'scripted',
      child.model,
    ]);
    await shot('1-list');
  });

  it("shows a session's children as a tree in its view, linked, and a new child live", async () => {
    await page.goto(`${server.url}/#/sessions/${parent.id}`);
    const panel = page.locator('#children');
    // Nested in the DOM: the grandchild's item inside the child's.
    const childItem = panel.locator(`ul.tree > li[data-session-id="${child.id}"]`);
    const grandchildItem = childItem.locator(`ul > li[data-session-id="${grandchild.id}"]`);
    await grandchildItem.waitFor();
    expect(await panel.locator('h2').textContent()).toBe('Children');
    const node = childItem.locator('> .tree-node');
    expect(await node.locator('a').getAttribute('href')).toBe(`#/sessions/${child.id}`);
    expect(await node.textContent()).toMatch(
      new RegExp(`^${child.id.slice(0, 8)} scripted · ${child.model} idle \\$[\\d.]+$`),
    );
    expect(await panel.locator(`li[data-session-id="${fork.id}"]`).count()).toBe(0);

    // A child started while the page watches: its child_session event adds it to the panel.
    const asking = await startChild(parentAgent, {
      provider: 'claude',
      query: '[[bash echo from-child > child.txt]]',
      permissions: 'ask',
    });
    await panel.locator(`ul.tree > li[data-session-id="${asking.id}"]`).waitFor();
    await transcript().locator(`.ev.child-session a[href="#/sessions/${asking.id}"]`).waitFor();
    await shot('2-panel');

    // The child's link opens its view, whose own panel has the grandchild and whose header links back.
    await node.locator('a').click();
    await page.waitForURL((url) => url.hash === `#/sessions/${child.id}`);
    await page.locator(`#children li[data-session-id="${grandchild.id}"]`).waitFor();
    expect(await page.locator('#session-parent').textContent()).toBe(
      `started by ${parent.id.slice(0, 8)}`,
    );
    // A session without children has no panel.
    await page.goto(`${server.url}/#/sessions/${grandchild.id}`);
    await page.locator('#session-id').waitFor();
    await page.locator('#state .badge').waitFor();
    expect(await page.locator('#children').isHidden()).toBe(true);
  });

  it("answers a child's permission request from the parent's view, on the child's session", async () => {
    const asking = (
      (await request(server.url).get('/v1/sessions').set(AUTH).expect(200))
        .body as SessionResource[]
    ).find((s) => s.parentId === parent.id && s.provider === 'claude')!;
    const short = asking.id.slice(0, 8);
    await page.goto(`${server.url}/#/sessions/${parent.id}`);
    const asked = transcript().locator(
      `.ev.child-permission[data-child-session-id="${asking.id}"]`,
    );
    await asked.waitFor({ timeout: 45_000 });
    expect(await asked.locator('code').textContent()).toBe('echo from-child > child.txt');
    expect(await asked.locator('a.child-link').getAttribute('href')).toBe(
      `#/sessions/${asking.id}`,
    );
    expect(await asked.locator('button').allTextContents()).toEqual([
      `Allow ${short}`,
      `Deny ${short}`,
    ]);
    await asked.locator('button.allow').click();
    // Settled by the child_permission_resolved event relayed into the parent's stream.
    await asked.locator('.outcome', { hasText: 'allowed by client' }).waitFor();
    expect(await asked.locator('button.allow').isDisabled()).toBe(true);

    const resolved = await eventIn(server.url, asking.id, 'permission_resolved', () => true, AUTH);
    expect(resolved).toMatchObject({ allow: true, by: 'client' });
    await eventIn(server.url, asking.id, 'result', () => true, AUTH);
    expect(readFileSync(join(asking.cwd, 'child.txt'), 'utf8').trim()).toBe('from-child');
    // The panel's poll brings the child's new state.
    await page
      .locator(`#children li[data-session-id="${asking.id}"] > .tree-node .badge`, {
        hasText: /^idle$/,
      })
      .waitFor();
    await shot('3-child-permission');
  });

  it('ran without console errors or CSP violations', () => {
    expect(problems).toEqual([]);
  });
});
