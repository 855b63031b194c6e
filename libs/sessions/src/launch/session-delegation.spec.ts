import { BudgetExceededError, ErrorCode, JelmoreError } from '@jelmore/contracts';
import {
  sessionRecord as record,
  STORE_ADAPTERS,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { SessionBudgets } from '../budgets/session-budgets.service';
import type { EventLog } from '../events/event-log.service';
import { SessionRuntimes } from '../runtime/session-runtimes.service';
import { DEFAULT_SESSIONS_OPTIONS, type SessionsModuleOptions } from '../sessions.options';
import { EventStore } from '../store/event-store';
import { SessionStore } from '../store/session-store';
import { SessionDelegation } from './session-delegation';

const OPTIONS: SessionsModuleOptions = {
  ...DEFAULT_SESSIONS_OPTIONS,
  databaseUrl: 'unused',
  workspaceRoot: '/unused',
  delegationMaxDepth: 2,
  delegationMaxChildren: 2,
  delegationServer: (session) => ({
    name: 'jelmore',
    url: 'http://127.0.0.1:1/mcp',
    headers: { Authorization: `Bearer token-of-${session.id}` },
  }),
};

describe.each(STORE_ADAPTERS)('SessionDelegation on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);
  let store: SessionStore;
  let delegation: SessionDelegation;
  let budgets: SessionBudgets;
  const appended: Array<{ id: string; type: string }> = [];
  /** The sessions whose agents run here: their logs are open. */
  const openLogs = new Set<string>();

  beforeEach(() => {
    store = new SessionStore(suite.connection);
    const log = {
      append: async (id: string, draft: { type: string }) => void appended.push({ id, ...draft }),
      writeIfOpen: (id: string, draft: { type: string }) =>
        openLogs.has(id) && appended.push({ id, ...draft }) > 0,
      lastSeq: () => undefined,
    } as unknown as EventLog;
    const runtimes = new SessionRuntimes(store, new EventStore(suite.connection), log);
    delegation = new SessionDelegation(store, log, runtimes, OPTIONS);
    budgets = new SessionBudgets(store, log, delegation, OPTIONS);
    appended.length = 0;
    openLogs.clear();
  });

  const actor = (parent: string) => ({ id: 'alice', admin: false, delegatedBy: parent });
  const input = (parent: string, maxBudgetUsd?: number) => ({
    query: 'x',
    owner: 'alice',
    actor: actor(parent),
    ...(maxBudgetUsd === undefined ? {} : { maxBudgetUsd }),
  });

  it('places a child under its parent, one level deeper, within what is left of its budget', async () => {
    await store.insertSession(
      record('p', {
        owner: 'alice',
        delegation: true,
        maxBudgetUsd: 1,
        usage: { inputTokens: 0, outputTokens: 0, costUsd: 0.4 },
      }),
    );
    expect(await delegation.placement({ query: 'x', owner: 'alice' })).toBeUndefined();
    expect(await delegation.placement(input('p'))).toEqual({
      parentId: 'p',
      depth: 1,
      maxBudgetUsd: 0.6,
    });
    // A child asking for more than is left gets what is left; less, what it asked.
    expect((await delegation.placement(input('p', 5)))?.maxBudgetUsd).toBeCloseTo(0.6);
    expect((await delegation.placement(input('p', 0.1)))?.maxBudgetUsd).toBe(0.1);
  });

  it("counts the children's spending in the parent's budget", async () => {
    const spent = (costUsd: number) => ({ inputTokens: 0, outputTokens: 0, costUsd });
    const parent = record('p', {
      owner: 'alice',
      delegation: true,
      maxBudgetUsd: 1,
      usage: spent(0.4),
    });
    await store.insertSession(parent);
    await store.insertSession(record('c1', { owner: 'alice', parentId: 'p', usage: spent(0.3) }));
    // A fork of the parent is no child of it: its spending is its own.
    await store.insertSession(
      record('f', { owner: 'alice', parentId: 'p', forkedFromTurn: 1, usage: spent(5) }),
    );
    expect(await delegation.spentWithChildren(parent, 0)).toBeCloseTo(0.7);
    await expect(budgets.checkInput(parent)).resolves.toBeUndefined();
    await store.insertSession(record('c2', { owner: 'alice', parentId: 'p', usage: spent(0.35) }));
    const refused = await budgets.checkInput(parent).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect((refused as BudgetExceededError).spentUsd).toBeCloseTo(1.05);
  });

  it('refuses a child past the depth or the fan-out, and under a parent that is not delegating', async () => {
    await store.insertSession(record('deep', { owner: 'alice', delegation: true, depth: 2 }));
    await expect(delegation.placement(input('deep'))).rejects.toMatchObject({
      code: ErrorCode.DelegationLimit,
      details: { maxDepth: 2 },
    });
    await store.insertSession(record('busy', { owner: 'alice', delegation: true }));
    for (const id of ['k1', 'k2']) {
      await store.insertSession(record(id, { owner: 'alice', parentId: 'busy' }));
    }
    await expect(delegation.placement(input('busy'))).rejects.toMatchObject({
      code: ErrorCode.DelegationLimit,
      details: { maxChildren: 2 },
    });
    await store.insertSession(record('plain', { owner: 'alice' }));
    const refused = await delegation.placement(input('plain')).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(JelmoreError);
    expect((refused as JelmoreError).code).toBe(ErrorCode.SessionNotActive);
  });

  it("gives a delegating session's agent Jelmore's MCP server, and tells the parent of its child", async () => {
    const child = record('c', { owner: 'alice', parentId: 'p', provider: 'opencode' });
    expect(delegation.mcpServers(record('x', { delegation: false }))).toBeUndefined();
    expect(delegation.mcpServers(record('p', { delegation: true }))).toEqual([
      expect.objectContaining({ headers: { Authorization: 'Bearer token-of-p' } }),
    ]);
    await delegation.announce(child);
    await delegation.announce(record('f', { parentId: 'p', forkedFromTurn: 2 }));
    expect(appended).toEqual([
      expect.objectContaining({ id: 'p', type: 'child_session', childSessionId: 'c' }),
    ]);
  });

  it("relays a descendant's permission requests up to every live ancestor, not past a fork", async () => {
    await store.insertSession(record('root', { owner: 'alice', delegation: true }));
    await store.insertSession(record('fork', { parentId: 'root', forkedFromTurn: 1 }));
    await store.insertSession(record('mid', { parentId: 'fork', delegation: true, depth: 1 }));
    await store.insertSession(record('leaf', { parentId: 'mid', depth: 2 }));
    for (const id of ['root', 'fork', 'mid']) openLogs.add(id);
    const asked = { type: 'permission_request' as const, requestId: 'r1', tool: 'bash', input: {} };

    await delegation.relayPermission((await store.getSession('leaf'))!, asked);
    await delegation.relayPermission((await store.getSession('leaf'))!, {
      type: 'permission_resolved',
      requestId: 'r1',
      allow: true,
      by: 'client',
    });
    // A fork's own requests are its own: the session it was forked from is not its parent.
    await delegation.relayPermission((await store.getSession('fork'))!, asked);

    expect(appended).toEqual([
      { id: 'mid', ...asked, type: 'child_permission_request', childSessionId: 'leaf' },
      { id: 'fork', ...asked, type: 'child_permission_request', childSessionId: 'leaf' },
      expect.objectContaining({ id: 'mid', type: 'child_permission_resolved', allow: true }),
      expect.objectContaining({ id: 'fork', type: 'child_permission_resolved', allow: true }),
    ]);
    openLogs.delete('mid'); // its agent runs on another node, or not at all
    await delegation.relayPermission((await store.getSession('leaf'))!, asked);
    expect(appended.slice(4).map((e) => e.id)).toEqual(['fork']);
  });
});
