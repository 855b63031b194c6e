import {
  AgentInput,
  AgentSession,
  InputMode,
  TurnBlock,
  Usage,
  ZERO_USAGE,
} from '@jelmore/contracts';
import type { ProviderCandidate } from '@jelmore/providers';
import type { SessionRecord } from '../store/session-record';

/**
 * Where the agent of a session running on this node stands. The session's own state (`record.state`,
 * what clients see) follows from these, through status events; these also say what is not persisted.
 */
export type RuntimeState =
  /** Started, not heard from yet: if it fails now, the next candidate provider takes the session. */
  | 'launching'
  /** A turn runs. */
  | 'working'
  /** Waits for input. */
  | 'idle'
  /** A budget stopped the running turn: it is being interrupted, queued input was dropped. */
  | 'stopping'
  /** Idle after a budget stop, reported once; the next input checks the budget again. */
  | 'stopped'
  /** Being ended on purpose (terminate, suspend, a failed start): its agent's exit is no failure. */
  | 'ending'
  /** Its agent is gone and the session no longer runs here. */
  | 'ended';

/** What may happen to a runtime; each is a method of SessionRuntime. */
export type RuntimeEvent =
  'heard' | 'fallBack' | 'input' | 'turnEnded' | 'budgetStop' | 'dropInputs' | 'end' | 'exit';

const TAKING_TURNS: readonly RuntimeState[] = [
  'launching',
  'working',
  'idle',
  'stopping',
  'stopped',
];

/** The states each event is legal in; any other is refused (a bug in the caller, not a client error). */
export const RUNTIME_TRANSITIONS: Readonly<Record<RuntimeEvent, readonly RuntimeState[]>> = {
  heard: ['launching'],
  fallBack: ['launching'],
  input: TAKING_TURNS,
  turnEnded: ['working', 'idle', 'stopping', 'stopped'],
  budgetStop: ['working', 'idle'],
  dropInputs: TAKING_TURNS,
  end: TAKING_TURNS,
  exit: [...TAKING_TURNS, 'ending'],
};

/**
 * What the caller does with an input: `send` it as a turn now (the runtime was idle), nothing (`queued`
 * for a later turn), `interrupt` the running turn (the input is first in the queue), or `steer` it into
 * the running turn (nothing queued).
 */
export type InputOutcome = 'send' | 'queued' | 'interrupt' | 'steer';

/** Until the agent is heard from: what a fallback to the next candidate needs. */
export interface LaunchPlan {
  /** The first turn, with its attachments' bytes: a fallback gives it to the next candidate. */
  query: AgentInput;
  candidates: ProviderCandidate[];
  skipped: string[];
}

export class IllegalTransitionError extends Error {
  constructor(sessionId: string, event: RuntimeEvent, state: RuntimeState) {
    super(`Session ${sessionId}: '${event}' is not allowed while ${state}`);
  }
}

/** A session whose agent runs in this process: its agent, its queued input, and its explicit state. */
export class SessionRuntime {
  /** The running turn's estimated usage, until the provider's own figure for the turn arrives. */
  estimate: Usage = { ...ZERO_USAGE };
  /** Inputs received while a turn runs, sent one per turn. */
  private readonly inputs: TurnBlock[][] = [];

  private constructor(
    readonly record: SessionRecord,
    private currentAgent: AgentSession,
    private current: RuntimeState,
    private plan?: LaunchPlan,
  ) {}

  /** A new session's agent, just created from the first candidate of `plan`'s selection. */
  static launching(record: SessionRecord, agent: AgentSession, plan: LaunchPlan): SessionRuntime {
    return new SessionRuntime(record, agent, 'launching', plan);
  }

  /** A suspended or interrupted session's new agent: it waits for input. */
  static resumed(record: SessionRecord, agent: AgentSession): SessionRuntime {
    return new SessionRuntime(record, agent, 'idle');
  }

  get state(): RuntimeState {
    return this.current;
  }

  get agent(): AgentSession {
    return this.currentAgent;
  }

  /** While launching: the query and the candidates left for a fallback. */
  get launch(): LaunchPlan | undefined {
    return this.plan;
  }

  /** Neither ending nor ended: commands and the agent's requests are taken. */
  get isLive(): boolean {
    return TAKING_TURNS.includes(this.current);
  }

  can(event: RuntimeEvent): boolean {
    return RUNTIME_TRANSITIONS[event].includes(this.current);
  }

  /** The agent's first event: no fallback from now on. */
  heard(): void {
    this.move('heard', 'working');
    this.plan = undefined;
  }

  /** The agent failed before it was heard from; the next candidate's agent takes over. */
  fallBack(agent: AgentSession, plan: LaunchPlan): void {
    this.move('fallBack', 'launching');
    this.currentAgent = agent;
    this.plan = plan;
  }

  /**
   * Takes an input in `mode` (see InputOutcome). Idle, every mode starts a turn. While a turn runs:
   * `queue` waits behind what is queued; `interrupt` goes first in the queue, to run as the interrupted
   * turn's result arrives; `steer` goes into the running turn. A turn not heard from yet (launching) or
   * being stopped by a budget cannot be steered: the input then runs next, as after an interrupt.
   */
  input(content: TurnBlock[], mode: InputMode = 'queue'): InputOutcome {
    this.check('input');
    if (this.current === 'idle' || this.current === 'stopped') {
      this.current = 'working';
      return 'send';
    }
    if (mode === 'steer' && this.current === 'working') return 'steer';
    const stopping = this.current === 'stopping';
    // An estimate may have stopped the turn where the provider's figure then stayed within budget.
    if (stopping) this.current = 'working';
    if (mode === 'queue') {
      this.inputs.push(content);
      return 'queued';
    }
    this.inputs.unshift(content);
    // A turn a budget is stopping is being interrupted already.
    return mode === 'interrupt' && !stopping ? 'interrupt' : 'queued';
  }

  /**
   * Holds an idle runtime as a turn would (input meanwhile is queued), while its files are changed
   * under it; AgentEventPump.release lets go. False when it is not idle.
   */
  hold(): boolean {
    if (this.current !== 'idle' && this.current !== 'stopped') return false;
    this.current = 'working';
    return true;
  }

  /** The turn's result: the queued input the next turn sends, or none (the runtime is then idle). */
  turnEnded(): TurnBlock[] | undefined {
    this.check('turnEnded');
    const next = this.current === 'working' ? this.inputs.shift() : undefined;
    if (next !== undefined) return next;
    this.current = this.current === 'stopping' || this.current === 'stopped' ? 'stopped' : 'idle';
    return undefined;
  }

  /** A budget is spent: queued input is dropped. True when a turn runs and must be interrupted. */
  budgetStop(): boolean {
    this.check('budgetStop');
    this.inputs.length = 0;
    const interrupt = this.current === 'working';
    this.current = interrupt ? 'stopping' : 'stopped';
    return interrupt;
  }

  /** An interrupt: the running turn stops, and what was queued for the next ones is dropped. */
  dropInputs(): void {
    this.check('dropInputs');
    this.inputs.length = 0;
  }

  /** We end the agent on purpose: its exit is then no failure, and it asks nobody anything. */
  end(): void {
    this.move('end', 'ending');
    this.plan = undefined;
  }

  /** The agent is gone and the session left this node. */
  exit(): void {
    this.move('exit', 'ended');
    this.plan = undefined;
    this.inputs.length = 0;
  }

  private move(event: RuntimeEvent, to: RuntimeState): void {
    this.check(event);
    this.current = to;
  }

  private check(event: RuntimeEvent): void {
    if (!this.can(event)) throw new IllegalTransitionError(this.record.id, event, this.current);
  }
}
