import type {
  AgentInput,
  AgentSession,
  SessionConfig,
  SessionEventDraft,
  StartOptions,
  SuspendedState,
} from '@jelmore/contracts';
import { AsyncQueue } from './process/async-queue';

/**
 * What every agent session shares: its id, the queue its events go through, and terminate and
 * suspend as ending the agent (suspend also saying how to continue it). A session adds how it starts,
 * takes input, interrupts, ends and resumes.
 */
export abstract class LocalAgentSession<
  C extends SessionConfig = SessionConfig,
> implements AgentSession {
  protected readonly queue = new AsyncQueue<SessionEventDraft>();

  constructor(
    protected readonly config: C,
    /** The provider's name, in the suspended state. */
    private readonly provider: string,
  ) {}

  get id(): string {
    return this.config.sessionId;
  }

  abstract get model(): string;
  abstract get providerRef(): string | undefined;
  abstract get pid(): number | undefined;

  events(): AsyncIterable<SessionEventDraft> {
    return this.queue;
  }

  abstract start(input: AgentInput, options?: StartOptions): Promise<void>;
  abstract send(input: AgentInput): Promise<void>;
  abstract interrupt(): Promise<void>;
  abstract resume(state: SuspendedState): Promise<void>;

  async terminate(): Promise<void> {
    await this.end(false);
  }

  async suspend(): Promise<SuspendedState> {
    await this.end(false);
    return {
      provider: this.provider,
      model: this.model,
      cwd: this.resumeCwd(),
      providerRef: this.providerRef,
      ...this.suspendedData(),
    };
  }

  /** Where a resume continues: the session's directory, or where the agent moved to. */
  protected resumeCwd(): string {
    return this.config.cwd;
  }

  /** What else a resume needs, if anything. */
  protected suspendedData(): Pick<SuspendedState, 'data'> {
    return {};
  }

  /** Stops the agent and ends the events, once; `failed` when the agent failed on its own. */
  protected abstract end(failed: boolean): Promise<void>;
}
