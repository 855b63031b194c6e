import {
  AgentInput,
  ErrorCode,
  ModelInfo,
  SessionConfig,
  StartOptions,
  SuspendedState,
} from '@jelmore/contracts';
import { OpencodeEventNormalizer } from './opencode-event.normalizer';
import { opencodeParts } from './opencode-parts';
import { OPENCODE_PROVIDER_ID } from './opencode.options';
import type { OpencodeServer } from './opencode-server';
import { LocalAgentSession } from '../local-agent-session';

export interface OpencodeLaunch {
  server: OpencodeServer;
  /** The server is this session's own (sandboxed): it starts with the session and ends with it. */
  dedicated: boolean;
  /** Called once when the session ends; `unexpected` when its agent was lost. */
  onEnd: (unexpected: boolean) => void;
}

/**
 * One conversation on an `opencode serve`: an opencode session in the Jelmore session's directory, on
 * the session's own server (or the operator's shared one). Its history lives in the server's data (the
 * tenant's home under Jelmore's data dir), so a suspended or interrupted session resumes by its opencode
 * session id, on a new server.
 */
export class OpencodeSession extends LocalAgentSession {
  private readonly normalizer: OpencodeEventNormalizer;
  private opencodeId?: string;
  private unlisten?: () => void;
  private releaseDirectory?: () => void;
  private ending = false;

  constructor(
    config: SessionConfig,
    private readonly modelInfo: ModelInfo,
    private readonly launch: OpencodeLaunch,
  ) {
    super(config, 'opencode');
    this.normalizer = new OpencodeEventNormalizer(modelInfo);
  }

  get model(): string {
    return this.modelInfo.id;
  }

  get providerRef(): string | undefined {
    return this.opencodeId;
  }

  /** The session's own server (none on a shared one): ended at boot should the server crash. */
  get pid(): number | undefined {
    return this.launch.dedicated ? this.server.pid : undefined;
  }

  async start(input: AgentInput, options: StartOptions = {}): Promise<void> {
    if (!options.continue || !this.opencodeId) {
      const created = await this.server.request<{ id: string }>(
        'POST',
        `/session?${this.directory()}`,
        {
          title: `jelmore ${this.id}`,
        },
      );
      this.opencodeId = created.id;
    }
    this.attach();
    await this.prompt(input);
  }

  async send(input: AgentInput): Promise<void> {
    if (!this.unlisten) this.attach();
    await this.prompt(input);
  }

  async interrupt(): Promise<void> {
    if (this.opencodeId && this.normalizer.turnActive) {
      this.normalizer.expectInterrupt();
      await this.server.request('POST', `/session/${this.opencodeId}/abort?${this.directory()}`);
    }
  }

  /** Adopts a suspended conversation; the next input continues it. */
  async resume(state: SuspendedState): Promise<void> {
    this.opencodeId = state.providerRef;
    if (!this.opencodeId)
      throw new Error('nothing to resume: the session has no opencode session id');
    try {
      await this.server.ready();
    } catch (err) {
      await this.end();
      throw err;
    }
    this.attach();
  }

  private async prompt(input: AgentInput): Promise<void> {
    this.normalizer.startTurn();
    try {
      await this.server.request(
        'POST',
        `/session/${this.opencodeId}/prompt_async?${this.directory()}`,
        {
          parts: opencodeParts(input),
          model: { providerID: OPENCODE_PROVIDER_ID, modelID: this.model },
        },
      );
    } catch (err) {
      this.fail(
        `opencode did not take the prompt: ${err instanceof Error ? err.message : String(err)}`,
      );
      throw err;
    }
  }

  private attach(): void {
    this.releaseDirectory ??= this.server.useDirectory(this.config.cwd);
    this.unlisten?.();
    this.unlisten = this.server.listen(this.opencodeId!, {
      onEvent: (event) => {
        if (event.type === 'permission.asked') this.rejectPermission(event.properties?.id);
        for (const draft of this.normalizer.push(event)) this.queue.push(draft);
      },
      onServerLost: (reason) => this.fail(reason),
    });
  }

  /**
   * Nobody can answer a permission prompt yet (relaying them to clients is to come), and an unanswered
   * one blocks the turn forever: refuse it, and the tool reports the refusal.
   */
  private rejectPermission(requestId: unknown): void {
    if (typeof requestId !== 'string') return;
    this.server
      .request('POST', `/permission/${requestId}/reply?${this.directory()}`, { reply: 'reject' })
      .catch(() => undefined);
  }

  private fail(reason: string): void {
    if (this.ending || this.queue.isEnded) return;
    this.ending = true;
    this.detach();
    this.queue.push({ type: 'error', code: ErrorCode.AgentExited, message: reason });
    this.queue.end();
    this.launch.onEnd(true);
    // Gone already, or its event stream is: nothing of it may stay.
    if (this.launch.dedicated) void this.server.stop();
  }

  protected async end(): Promise<void> {
    if (this.ending) return;
    this.ending = true;
    if (this.opencodeId && this.normalizer.turnActive) {
      await this.server
        .request('POST', `/session/${this.opencodeId}/abort?${this.directory()}`)
        .catch(() => undefined);
    }
    this.detach();
    if (this.launch.dedicated) await this.server.stop();
    this.queue.end();
    this.launch.onEnd(false);
  }

  private detach(): void {
    this.unlisten?.();
    this.unlisten = undefined;
    this.releaseDirectory?.();
    this.releaseDirectory = undefined;
  }

  private get server(): OpencodeServer {
    return this.launch.server;
  }

  private directory(): string {
    return `directory=${encodeURIComponent(this.config.cwd)}`;
  }
}
