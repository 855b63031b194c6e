import { tmpdir } from 'node:os';
import type {
  AgentSession,
  PermissionDecision,
  PermissionRequestEvent,
  SessionEventDraft,
} from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS } from '../sessions.options';
import type { SessionRecord } from '../store/session-record';
import { PermissionRequestStore } from '../store/permission-request-store';
import { StoreConnection } from '../store/store-connection';
import { SessionPermissions } from './session-permissions';

/** The agent side of the port: it knows what it asked, and takes one answer per request. */
class AskingAgent {
  readonly asked = new Set<string>();
  readonly answers: Array<{ requestId: string } & PermissionDecision> = [];

  answerPermission(requestId: string, decision: PermissionDecision): boolean {
    if (!this.asked.delete(requestId)) return false;
    this.answers.push({ requestId, ...decision });
    return true;
  }
}

const record = { id: 'session-1' } as SessionRecord;

/** Only the permission timeout runs on the fake clock; the store keeps its real scheduling. */
const fakeTheTimeoutOnly = () =>
  jest.useFakeTimers({
    doNotFake: [
      'Date',
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
    ],
  });

function request(requestId: string): PermissionRequestEvent {
  return { type: 'permission_request', requestId, tool: 'Bash', input: { command: 'rm x' } };
}

describe('SessionPermissions (SQLite store)', () => {
  let connection: StoreConnection;
  let store: PermissionRequestStore;
  let logged: SessionEventDraft[];
  /** What the sessions above this one were told, as `<type> <requestId>`. */
  let relayed: string[];
  let agent: AskingAgent;

  const permissions = (timeoutMs = 60_000) =>
    new SessionPermissions(
      store,
      timeoutMs,
      async (_record, draft) => {
        logged.push(draft);
      },
      async (_record, event) => {
        relayed.push(`${event.type} ${event.requestId}`);
      },
    );
  const asAgent = () => agent as unknown as AgentSession;
  const open = async (on: SessionPermissions, requestId: string) => {
    agent.asked.add(requestId);
    await on.opened(record, request(requestId), asAgent());
  };
  const resolutions = () => logged.filter((d) => d.type === 'permission_resolved');

  beforeEach(async () => {
    connection = new StoreConnection({
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: 'sqlite::memory:',
      workspaceRoot: tmpdir(),
    });
    await connection.onModuleInit();
    store = new PermissionRequestStore(connection);
    logged = [];
    relayed = [];
    agent = new AskingAgent();
  });

  afterEach(async () => {
    jest.useRealTimers();
    await connection.onApplicationShutdown();
  });

  it('passes a reply on to the agent, logs it before anything else can happen, and stores it', async () => {
    const on = permissions();
    await open(on, 'r1');
    expect(await on.pending(record, true)).toEqual([
      expect.objectContaining({ requestId: 'r1', tool: 'Bash', expiresAt: expect.any(String) }),
    ]);

    const answered = on.answer(record, asAgent(), 'r1', { allow: true }, 'client');
    // Logged synchronously: its seq comes before whatever the agent does with the answer.
    expect(resolutions()).toEqual([
      { type: 'permission_resolved', requestId: 'r1', allow: true, by: 'client' },
    ]);
    expect(await answered).toBe(true);
    expect(agent.answers).toEqual([{ requestId: 'r1', allow: true }]);
    expect(await store.getPermissionRequest(record.id, 'r1')).toMatchObject({
      state: 'allowed',
      resolvedBy: 'client',
    });
    expect(await on.pending(record, true)).toEqual([]);
    expect(relayed).toEqual(['permission_request r1', 'permission_resolved r1']);
    on.close();
  });

  it('settles a request once: a second reply and the timeout find nothing', async () => {
    const on = permissions(50);
    fakeTheTimeoutOnly();
    await open(on, 'r1');
    expect(await on.answer(record, asAgent(), 'r1', { allow: false, reason: 'no' }, 'client')).toBe(
      true,
    );
    expect(await on.answer(record, asAgent(), 'r1', { allow: true }, 'client')).toBe(false);
    expect(await on.answer(record, asAgent(), 'never-asked', { allow: true }, 'client')).toBe(
      false,
    );
    // The settled request's timer is gone: running the clock past the timeout logs nothing more.
    await jest.advanceTimersByTimeAsync(50);
    jest.useRealTimers();
    expect(resolutions()).toHaveLength(1);
    expect(agent.answers).toEqual([{ requestId: 'r1', allow: false, reason: 'no' }]);
    on.close();
  });

  it('denies a request nobody answers once the timeout passes', async () => {
    const on = permissions(50);
    const stored = jest.spyOn(store, 'resolvePermissionRequest');
    fakeTheTimeoutOnly();
    await open(on, 'r1');
    await jest.advanceTimersByTimeAsync(49);
    expect(agent.answers).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    jest.useRealTimers();
    // The timeout answered the agent and logged at once; its store write is the last step.
    await stored.mock.results[0]?.value;
    expect(agent.answers).toEqual([
      { requestId: 'r1', allow: false, reason: expect.stringMatching(/^no answer within/) },
    ]);
    expect(resolutions()).toEqual([
      expect.objectContaining({ requestId: 'r1', allow: false, by: 'timeout' }),
    ]);
    expect((await store.getPermissionRequest(record.id, 'r1'))?.state).toBe('denied');
  });

  it("logs the agent's withdrawal of a waiting request only", async () => {
    const on = permissions();
    await open(on, 'r1');
    const withdrawal = {
      type: 'permission_resolved' as const,
      requestId: 'r1',
      allow: false,
      by: 'cancelled' as const,
    };
    expect(await on.withdrawn(record, withdrawal)).toBe(true);
    expect(await on.withdrawn(record, withdrawal)).toBe(false);
    expect(await on.answer(record, asAgent(), 'r1', { allow: true }, 'client')).toBe(false);
    expect((await store.getPermissionRequest(record.id, 'r1'))?.resolvedBy).toBe('cancelled');
    expect(relayed).toEqual(['permission_request r1', 'permission_resolved r1']);
    on.close();
  });

  it('cancels what waits here and what an earlier process left pending, each once', async () => {
    const earlier = permissions();
    await open(earlier, 'left-by-a-crash');
    earlier.close(); // the process died: the row stays pending, its timer is gone
    const on = permissions();
    await open(on, 'waiting');
    await store.insertPermissionRequest({
      sessionId: 'other-session',
      requestId: 'elsewhere',
      tool: 'Bash',
      input: {},
      toolUseId: null,
      state: 'pending',
      createdAt: new Date().toISOString(),
      expiresAt: null,
      resolvedAt: null,
      resolvedBy: null,
      reason: null,
    });

    await on.cancelAll(record, 'session terminated (by test)');
    await on.cancelAll(record, 'again');

    expect(resolutions().map((d) => d.type === 'permission_resolved' && d.requestId)).toEqual([
      'waiting',
      'left-by-a-crash',
    ]);
    expect(resolutions()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          allow: false,
          by: 'cancelled',
          reason: 'session terminated (by test)',
        }),
      ]),
    );
    expect(await on.pending(record, false)).toEqual([]);
    // Each settlement reaches the sessions above once, like the session's own log.
    expect(relayed.filter((r) => r.startsWith('permission_resolved'))).toEqual([
      'permission_resolved waiting',
      'permission_resolved left-by-a-crash',
    ]);
    expect(await store.pendingPermissionRequests('other-session')).toHaveLength(1);
    // The agent was not asked to deny anything: it is gone, or being stopped.
    expect(agent.answers).toEqual([]);
  });
});
