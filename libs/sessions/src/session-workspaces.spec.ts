import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionState } from '@jelmore/contracts';
import { SessionWorkspaces } from './session-workspaces';
import { DEFAULT_SESSIONS_OPTIONS } from './sessions.options';
import { NO_HISTORY, type SessionRecord } from './store/session-record';
import { SessionStore } from './store/session-store';
import { StoreConnection } from './store/store-connection';

const EARLY = '2030-01-01T00:00:00.000Z';
const CUTOFF = '2030-01-02T00:00:00.000Z';
const LATE = '2030-01-03T00:00:00.000Z';

describe('SessionWorkspaces', () => {
  let base: string;
  let root: string;
  let connection: StoreConnection;
  let store: SessionStore;
  let workspaces: SessionWorkspaces;

  beforeEach(async () => {
    base = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-workspaces-')));
    root = join(base, 'workspace');
    mkdirSync(root);
    const options = {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: `sqlite:${join(base, 'jelmore.db')}`,
      workspaceRoot: root,
      sharedWorkspace: 'shared',
      adminOwners: ['ops'],
    };
    connection = new StoreConnection(options);
    await connection.onModuleInit();
    store = new SessionStore(connection);
    workspaces = new SessionWorkspaces(options, store);
  });

  afterEach(async () => {
    await connection.onApplicationShutdown();
    rmSync(base, { recursive: true, force: true });
  });

  /** A stored session of `owner`, and the folder made for it unless it was given a cwd. */
  async function session(
    owner: string,
    state: SessionState,
    updatedAt: string,
    cwd?: string,
  ): Promise<string> {
    const id = randomUUID();
    const dir = await workspaces.resolve(id, cwd, owner);
    await store.insertSession(record(id, owner, state, updatedAt, dir));
    return id;
  }

  it("confines an owner to its own sessions' folders and the shared workspace; admins are not", async () => {
    const alices = await session('alice', 'idle', LATE);
    const bobs = await session('bob', 'idle', LATE);
    await expect(workspaces.resolve(randomUUID(), alices, 'alice')).resolves.toBe(
      join(root, alices),
    );
    await expect(workspaces.resolve(randomUUID(), 'shared', 'bob')).resolves.toBe(
      join(root, 'shared'),
    );
    await expect(workspaces.resolve(randomUUID(), alices, 'bob')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(workspaces.resolve(randomUUID(), '.', 'bob')).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(workspaces.resolve(randomUUID(), bobs, 'ops')).resolves.toBe(join(root, bobs));
    await expect(workspaces.resolve(randomUUID(), '.', undefined)).resolves.toBe(root);
    await expect(workspaces.mayUse('alice', join(root, bobs))).resolves.toBe(false);
    await expect(workspaces.mayUse('bob', join(root, bobs))).resolves.toBe(true);
  });

  it('removes the folders of sessions ended before the cutoff, and only those', async () => {
    const ended = await session('alice', 'terminated', EARLY);
    const failed = await session('alice', 'failed', EARLY);
    const endedSince = await session('alice', 'terminated', LATE);
    const suspended = await session('alice', 'suspended', EARLY);
    // An ended session's folder that a newer session still works in stays with it.
    const reused = await session('alice', 'terminated', EARLY);
    await session('alice', 'idle', LATE, reused);
    // Sessions given a cwd: no folder was made for them, and theirs are never removed.
    mkdirSync(join(root, 'project'));
    await session('ops', 'terminated', EARLY, 'project');
    await session('bob', 'terminated', EARLY, 'shared');

    expect(await workspaces.removeEnded(CUTOFF)).toBe(2);

    const exists = (name: string) => existsSync(join(root, name));
    expect([ended, failed].map(exists)).toEqual([false, false]);
    expect([endedSince, suspended, reused, 'project', 'shared'].map(exists)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect(await workspaces.removeEnded(CUTOFF)).toBe(0);
  });
});

function record(
  id: string,
  owner: string,
  state: SessionState,
  updatedAt: string,
  cwd: string,
): SessionRecord {
  return {
    id,
    owner,
    provider: 'claude',
    model: 'claude-sonnet-4-5',
    state,
    cwd,
    providerRef: null,
    suspendedState: null,
    usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
    createdAt: EARLY,
    updatedAt,
    nodeId: null,
    agentPid: null,
    maxBudgetUsd: null,
    permissions: null,
    title: null,
    ...NO_HISTORY,
  };
}
