import { INPUT_MODES, type AgentSession, type TextBlock } from '@jelmore/contracts';
import type { SessionRecord } from '../store/session-record';
import {
  IllegalTransitionError,
  LaunchPlan,
  RUNTIME_TRANSITIONS,
  RuntimeEvent,
  RuntimeState,
  SessionRuntime,
} from './session-runtime';

const STATES: RuntimeState[] = [
  'launching',
  'working',
  'idle',
  'stopping',
  'stopped',
  'ending',
  'ended',
];
const EVENTS = Object.keys(RUNTIME_TRANSITIONS) as RuntimeEvent[];

const record = { id: 'session-1' } as SessionRecord;
const agent = (name: string) => ({ name }) as unknown as AgentSession;
const turn = (text: string): TextBlock[] => [{ type: 'text', text }];
const plan = (query = 'q'): LaunchPlan => ({ query: turn(query), candidates: [], skipped: [] });

/** A runtime brought to `state` by legal transitions only. */
function inState(state: RuntimeState): SessionRuntime {
  const launching = () => SessionRuntime.launching(record, agent('first'), plan());
  const idle = () => SessionRuntime.resumed(record, agent('resumed'));
  const runtime = ['launching', 'working', 'stopping'].includes(state) ? launching() : idle();
  if (state === 'working' || state === 'stopping') runtime.heard();
  if (state === 'stopping' || state === 'stopped') runtime.budgetStop();
  if (state === 'ending') runtime.end();
  if (state === 'ended') runtime.exit();
  expect(runtime.state).toBe(state);
  return runtime;
}

/** Fires the event with what it needs; returns what it returned. */
function fire(runtime: SessionRuntime, event: RuntimeEvent): unknown {
  switch (event) {
    case 'fallBack':
      return runtime.fallBack(agent('next'), plan());
    case 'input':
      return runtime.input(turn('more'));
    default:
      return runtime[event]();
  }
}

/** Where each legal event leads from each state (with nothing queued). */
const EXPECTED: Record<RuntimeEvent, Partial<Record<RuntimeState, RuntimeState>>> = {
  heard: { launching: 'working' },
  fallBack: { launching: 'launching' },
  input: {
    launching: 'launching',
    working: 'working',
    idle: 'working',
    stopping: 'working',
    stopped: 'working',
  },
  turnEnded: { working: 'idle', idle: 'idle', stopping: 'stopped', stopped: 'stopped' },
  budgetStop: { working: 'stopping', idle: 'stopped' },
  dropInputs: {
    launching: 'launching',
    working: 'working',
    idle: 'idle',
    stopping: 'stopping',
    stopped: 'stopped',
  },
  end: {
    launching: 'ending',
    working: 'ending',
    idle: 'ending',
    stopping: 'ending',
    stopped: 'ending',
  },
  exit: {
    launching: 'ended',
    working: 'ended',
    idle: 'ended',
    stopping: 'ended',
    stopped: 'ended',
    ending: 'ended',
  },
};

describe('SessionRuntime', () => {
  it('the table of legal events and the expected outcomes agree', () => {
    for (const event of EVENTS) {
      expect([...RUNTIME_TRANSITIONS[event]].sort()).toEqual(Object.keys(EXPECTED[event]).sort());
    }
  });

  describe.each(STATES)('from %s', (state) => {
    it.each(EVENTS)('%s moves as the table says, or is refused and changes nothing', (event) => {
      const runtime = inState(state);
      const to = EXPECTED[event][state];
      expect(runtime.can(event)).toBe(to !== undefined);
      if (to === undefined) {
        expect(() => fire(runtime, event)).toThrow(IllegalTransitionError);
        expect(runtime.state).toBe(state);
      } else {
        fire(runtime, event);
        expect(runtime.state).toBe(to);
      }
    });
  });

  it('is live (takes commands) in every state but ending and ended', () => {
    const live = STATES.filter((s) => inState(s).isLive);
    expect(live).toEqual(['launching', 'working', 'idle', 'stopping', 'stopped']);
  });

  it('an input starts a turn when idle, and waits for the running turn otherwise', () => {
    expect(inState('idle').input(turn('a'))).toBe('send');
    expect(inState('stopped').input(turn('a'))).toBe('send');
    expect(inState('launching').input(turn('a'))).toBe('queued');
    expect(inState('working').input(turn('a'))).toBe('queued');
    expect(inState('stopping').input(turn('a'))).toBe('queued');
  });

  it('sends queued inputs one per turn, in order, then goes idle', () => {
    const runtime = inState('working');
    runtime.input(turn('a'));
    runtime.input(turn('b'));
    expect(runtime.turnEnded()).toEqual(turn('a'));
    expect(runtime.state).toBe('working');
    expect(runtime.turnEnded()).toEqual(turn('b'));
    expect(runtime.turnEnded()).toBeUndefined();
    expect(runtime.state).toBe('idle');
  });

  it('keeps input queued while launching for the agent that is heard from, even after a fallback', () => {
    const runtime = inState('launching');
    runtime.input(turn('a'));
    runtime.fallBack(agent('next'), plan('again'));
    expect(runtime.agent).toEqual(agent('next'));
    expect(runtime.launch?.query).toEqual(turn('again'));
    runtime.heard();
    expect(runtime.launch).toBeUndefined();
    expect(runtime.turnEnded()).toEqual(turn('a'));
  });

  it('a budget stop drops what was queued, interrupts only a running turn, and is reported once', () => {
    const working = inState('working');
    working.input(turn('a'));
    expect(working.budgetStop()).toBe(true);
    expect(working.can('budgetStop')).toBe(false);
    expect(working.turnEnded()).toBeUndefined();
    expect(working.state).toBe('stopped');
    expect(inState('idle').budgetStop()).toBe(false);
  });

  it('an input after a budget stop takes turns again (the budget is checked before)', () => {
    const stopping = inState('stopping');
    stopping.input(turn('a'));
    expect(stopping.state).toBe('working');
    expect(stopping.turnEnded()).toEqual(turn('a'));
    expect(stopping.can('budgetStop')).toBe(true);
  });

  it('in every mode, an input to an idle runtime starts a turn now', () => {
    for (const mode of INPUT_MODES) {
      expect(inState('idle').input(turn('a'), mode)).toBe('send');
      expect(inState('stopped').input(turn('a'), mode)).toBe('send');
    }
  });

  it('an interrupting input runs next, ahead of what was queued; the queue stays behind it', () => {
    const runtime = inState('working');
    runtime.input(turn('queued before'));
    expect(runtime.input(turn('urgent'), 'interrupt')).toBe('interrupt');
    expect(runtime.state).toBe('working');
    // The interrupted turn's result.
    expect(runtime.turnEnded()).toEqual(turn('urgent'));
    expect(runtime.turnEnded()).toEqual(turn('queued before'));
    expect(runtime.turnEnded()).toBeUndefined();
    expect(runtime.state).toBe('idle');
  });

  it('an interrupting input while launching interrupts the first turn too, and survives a fallback', () => {
    const runtime = inState('launching');
    expect(runtime.input(turn('urgent'), 'interrupt')).toBe('interrupt');
    runtime.fallBack(agent('next'), plan());
    runtime.heard();
    expect(runtime.turnEnded()).toEqual(turn('urgent'));
  });

  it('a turn a budget is stopping is not interrupted again: the input just runs next', () => {
    const runtime = inState('stopping');
    expect(runtime.input(turn('urgent'), 'interrupt')).toBe('queued');
    expect(runtime.state).toBe('working');
    expect(runtime.turnEnded()).toEqual(turn('urgent'));
  });

  it('a steering input goes into the running turn and queues nothing', () => {
    const runtime = inState('working');
    expect(runtime.input(turn('also this'), 'steer')).toBe('steer');
    expect(runtime.state).toBe('working');
    expect(runtime.turnEnded()).toBeUndefined();
    expect(runtime.state).toBe('idle');
  });

  it('a turn not heard from yet, or being stopped, cannot be steered: the input runs next', () => {
    const launching = inState('launching');
    launching.input(turn('queued before'));
    expect(launching.input(turn('also this'), 'steer')).toBe('queued');
    launching.heard();
    expect(launching.turnEnded()).toEqual(turn('also this'));
    const stopping = inState('stopping');
    expect(stopping.input(turn('also this'), 'steer')).toBe('queued');
    expect(stopping.turnEnded()).toEqual(turn('also this'));
  });

  it('an interrupt drops the queued inputs', () => {
    const runtime = inState('working');
    runtime.input(turn('a'));
    runtime.dropInputs();
    expect(runtime.turnEnded()).toBeUndefined();
    expect(runtime.state).toBe('idle');
  });

  it('ending forgets the launch plan: an agent ended on purpose never falls back', () => {
    const runtime = inState('launching');
    runtime.end();
    expect(runtime.launch).toBeUndefined();
    expect(runtime.can('fallBack')).toBe(false);
  });
});
