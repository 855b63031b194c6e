import {
  type AgentInput,
  type AgentSession,
  ErrorCode,
  JelmoreError,
  type ProviderCapabilities,
  type TurnBlock,
} from '@jelmore/contracts';
import type { ProviderRegistry } from '@jelmore/providers';
import type { SessionBudgets } from '../budgets/session-budgets.service';
import type { EventLog } from '../events/event-log.service';
import type { SessionPermissions } from '../permissions/session-permissions';
import type { PermissionRequestStore } from '../store/permission-request-store';
import type { SessionRecord } from '../store/session-record';
import type { SessionStore } from '../store/session-store';
import { SessionControl } from './session-control.service';
import { SessionRuntime } from './session-runtime';
import type { SessionRuntimes } from './session-runtimes.service';
import type { SessionTransitions } from './session-transitions.service';
import type { SessionRepositories } from '../git/session-repositories';
import type { SessionTurns } from './session-turns.service';

const turn = (text: string): TurnBlock[] => [{ type: 'text', text }];
const textOf = (input: AgentInput) =>
  input.map((b) => (b.type === 'text' ? b.text : b.type)).join(' ');

/** An agent that records what it is told. */
function fakeAgent(steers: boolean) {
  const calls: string[] = [];
  const agent = {
    id: 'session-1',
    model: 'm',
    send: async (input: AgentInput) => void calls.push(`send ${textOf(input)}`),
    interrupt: async () => void calls.push('interrupt'),
    ...(steers
      ? { steer: async (input: AgentInput) => void calls.push(`steer ${textOf(input)}`) }
      : {}),
  } as unknown as AgentSession;
  return { agent, calls };
}

/** SessionControl over one runtime (idle, or working a turn), its provider declaring `steer`. */
function setUp(state: 'idle' | 'working', steer: boolean) {
  const record = { id: 'session-1', provider: 'p', state: 'idle' } as SessionRecord;
  const { agent, calls } = fakeAgent(steer);
  const runtime = SessionRuntime.resumed(record, agent);
  if (state === 'working') runtime.input(turn('the running turn'));
  const checked: string[] = [];
  const rows: Array<Partial<SessionRecord>> = [];
  const control = new SessionControl(
    {
      updateSession: async (_id: string, patch: Partial<SessionRecord>) => void rows.push(patch),
    } as unknown as SessionStore,
    {} as EventLog,
    { runtime: async () => runtime } as unknown as SessionRuntimes,
    {
      transition: async (_r: SessionRecord, to: string) => void calls.push(`state ${to}`),
    } as unknown as SessionTransitions,
    { checkInput: async () => void checked.push('budget') } as unknown as SessionBudgets,
    {} as SessionPermissions,
    {} as PermissionRequestStore,
    {
      has: (name: string) => name === 'p',
      get: () => ({ capabilities: { steer } as ProviderCapabilities }),
    } as unknown as ProviderRegistry,
    {
      userEvent: (_session: unknown, content: TurnBlock[]) => ({ type: 'user', content }),
      announce: async (_id: string, user: { content: TurnBlock[] }) =>
        void calls.push(`user ${textOf(user.content as AgentInput)}`),
      // The session middlewares' refusal, as SessionTurns.input reports it.
      input: async (content: TurnBlock[]) => {
        if (textOf(content as AgentInput).includes('refused')) {
          throw new JelmoreError(ErrorCode.InputRefused, 'refused by middleware');
        }
        return content;
      },
    } as unknown as SessionTurns,
    {} as SessionRepositories,
  );
  return { control, runtime, agent, calls, checked, rows };
}

describe('SessionControl.input modes', () => {
  it('queue (the default) waits for the running turn', async () => {
    const { control, runtime, calls } = setUp('working', false);
    await control.input('session-1', turn('next'));
    expect(calls).toEqual([]);
    expect(runtime.turnEnded()).toEqual(turn('next'));
  });

  it('interrupt stops the running turn; its result then takes the input first', async () => {
    const { control, runtime, calls } = setUp('working', false);
    await control.input('session-1', turn('queued'));
    await control.input('session-1', turn('urgent'), undefined, 'interrupt');
    expect(calls).toEqual(['interrupt']);
    expect(runtime.turnEnded()).toEqual(turn('urgent'));
    expect(runtime.turnEnded()).toEqual(turn('queued'));
  });

  it('interrupt on an idle session just runs the input', async () => {
    const { control, calls } = setUp('idle', false);
    await control.input('session-1', turn('now'), undefined, 'interrupt');
    expect(calls).toEqual(['user now', 'state running', 'send now']);
  });

  it.each(['idle', 'working'] as const)(
    'steer is refused with STEER_UNSUPPORTED when the provider cannot (%s), before the budget',
    async (state) => {
      const { control, runtime, calls, checked } = setUp(state, false);
      await expect(
        control.input('session-1', turn('also'), undefined, 'steer'),
      ).rejects.toMatchObject({
        code: 'STEER_UNSUPPORTED',
        details: { provider: 'p', sessionId: 'session-1' },
      });
      expect({ calls, checked, state: runtime.state }).toEqual({
        calls: [],
        checked: [],
        state: state,
      });
    },
  );

  it.each([
    ['idle', 'queue'],
    ['working', 'queue'],
    ['working', 'interrupt'],
  ] as const)(
    'an input middleware refuses (%s, %s) leaves the session as it was',
    async (state, mode) => {
      const { control, runtime, calls } = setUp(state, false);
      await expect(
        control.input('session-1', turn('to be refused'), undefined, mode),
      ).rejects.toMatchObject({ code: 'INPUT_REFUSED' });
      expect({ calls, state: runtime.state }).toEqual({ calls: [], state: state });
      if (state === 'working') expect(runtime.turnEnded()).toBeUndefined();
    },
  );

  it('steer goes to the agent mid-turn where the provider can, and starts a turn when idle', async () => {
    const working = setUp('working', true);
    await working.control.input('session-1', turn('also'), undefined, 'steer');
    expect(working.calls).toEqual(['user also', 'steer also']);
    expect(working.runtime.turnEnded()).toBeUndefined();
    const idle = setUp('idle', true);
    await idle.control.input('session-1', turn('now'), undefined, 'steer');
    expect(idle.calls).toEqual(['user now', 'state running', 'send now']);
  });
});

describe('SessionControl.input and the agent pid', () => {
  it('writes the pid to the row only when a turn started a new process', async () => {
    const { control, runtime, agent, rows } = setUp('idle', false);
    Object.assign(agent, { pid: 41 });
    runtime.record.agentPid = 41;
    await control.input('session-1', turn('same process'));
    expect(rows).toEqual([]);
    runtime.turnEnded();
    // A process started by send (a resumed Claude conversation): its pid is the row's from now on.
    Object.assign(agent, { pid: 42 });
    await control.input('session-1', turn('new process'));
    expect(rows).toEqual([{ agentPid: 42 }]);
    expect(runtime.record.agentPid).toBe(42);
  });
});
