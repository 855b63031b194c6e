import { Injectable } from '@nestjs/common';
import {
  AgentInput,
  AgentProviderPort,
  ErrorCode,
  JelmoreError,
  TurnBlock,
  TurnContent,
  type UserEvent,
} from '@jelmore/contracts';
import { ProviderRegistry } from '@jelmore/providers';
import { Attachments, CheckedTurn, ContentCapability } from '../attachments/attachments.service';
import { EventLog } from '../events/event-log.service';
import type { LoggedEvents, SessionContext } from '../middleware/session-middleware.decorator';
import { eventsOf, SessionMiddlewares } from '../middleware/session-middlewares.service';
import type { SessionActor } from '../sessions.types';
import type { SessionRecord } from '../store/session-record';

const TITLE_LENGTH = 80;

/**
 * A turn's input on its way to the agent: checked against whose it is and what the session's provider
 * takes, kept (attachments by reference), announced in the log as the turn's `user` event, and given to
 * the agent through the session middlewares with its attachments' bytes.
 */
@Injectable()
export class SessionTurns {
  /**
   * What the middlewares made of each input, so that they run once per input: when the server takes it
   * (a refusal answers the request that gave it). A queued input, the same array, comes back at its turn.
   */
  private readonly forAgent = new WeakMap<readonly TurnBlock[], TurnBlock[]>();

  constructor(
    private readonly attachments: Attachments,
    private readonly log: EventLog,
    private readonly registry: ProviderRegistry,
    private readonly middlewares: SessionMiddlewares,
  ) {}

  /** Checks content before a provider is chosen (see Attachments.check): nothing is kept yet. */
  check(content: TurnContent, actor?: SessionActor): Promise<CheckedTurn> {
    return this.attachments.check(content, actor);
  }

  /**
   * Keeps a checked turn for the session: its attachments are the session's from now on, so the cleanup
   * keeps them while it keeps the session's events (queued input included).
   */
  async keep(turn: CheckedTurn, owner: string | null, sessionId: string): Promise<TurnBlock[]> {
    const blocks = await this.attachments.keep(turn, owner);
    await this.attachments.link(sessionId, blocks);
    return blocks;
  }

  /**
   * A new session's first turn: kept, made into the agent's input (see input), and only then linked to
   * the session, so that a refused one leaves its inline data as unused uploads, which the cleanup deletes.
   */
  async first(
    turn: CheckedTurn,
    session: SessionContext,
  ): Promise<{ query: TurnBlock[]; agentInput: AgentInput }> {
    const query = await this.attachments.keep(turn, session.owner);
    const agentInput = await this.input(query, session);
    await this.attachments.link(session.id, query);
    return { query, agentInput };
  }

  /** Input for a session: refused, with nothing kept, when its provider cannot take what it holds. */
  async take(
    content: TurnContent,
    record: SessionRecord,
    actor?: SessionActor,
  ): Promise<TurnBlock[]> {
    const turn = await this.check(content, actor);
    // Checked where the provider is registered: a node of a cluster may not run the session's provider,
    // and then the node that does refuses the turn (its agent gets the error).
    if (turn.needs.length > 0 && this.registry.has(record.provider)) {
      assertTakes(this.registry.get(record.provider), turn.needs);
    }
    return this.keep(turn, record.owner, record.id);
  }

  /**
   * The turn's `user` event as the log will have it: what the client sent, through the middlewares'
   * `onEvent` (the redactor's secrets redacted), not what `onInput` made of it for the agent.
   */
  userEvent(session: SessionContext, content: TurnBlock[]): LoggedEvents {
    return this.middlewares.event(session, { type: 'user', content });
  }

  /** Logs the turn's `user` event (see userEvent), right before the agent gets the input. */
  async announce(sessionId: string, user: LoggedEvents): Promise<void> {
    await Promise.all(eventsOf(user).map((draft) => this.log.append(sessionId, draft)));
  }

  /**
   * What the agent is given: the content as the middlewares' `onInput` leave it (INPUT_REFUSED,
   * MIDDLEWARE_FAILED), with its attachments' bytes. Made before the turn changes any state, so a refusal
   * or bytes that are gone (ATTACHMENT_NOT_FOUND) leave the session as it was.
   */
  async input(content: TurnBlock[], session: SessionContext): Promise<AgentInput> {
    let blocks = this.forAgent.get(content);
    if (!blocks) {
      blocks = await this.middlewares.input(session, content);
      this.forAgent.set(content, blocks);
    }
    return this.attachments.load(blocks);
  }
}

/** MULTIMODAL_UNSUPPORTED when `provider` lacks what the turn needs (images, PDF documents). */
export function assertTakes(
  provider: AgentProviderPort,
  needs: readonly ContentCapability[],
): void {
  const missing = needs.filter((capability) => !provider.capabilities[capability]);
  if (missing.length === 0) return;
  const what = missing.map((c) => (c === 'multimodal' ? 'images' : 'PDF documents')).join(' or ');
  throw new JelmoreError(
    ErrorCode.MultimodalUnsupported,
    `Provider '${provider.name}' cannot take ${what}`,
    { provider: provider.name, capabilities: missing },
  );
}

/** The content of the `user` event among what the middlewares logged for it; none if they dropped it. */
export function userContent(logged: LoggedEvents): TurnBlock[] {
  return eventsOf(logged).find((e): e is UserEvent => e.type === 'user')?.content ?? [];
}

/** The first non-blank line of text, shortened; else the first attachment's kind or name. */
export function titleOf(content: readonly TurnBlock[]): string {
  // Across text blocks: a blank first block (clients send them) must not hide the text after it.
  const line = content
    .flatMap((block) => (block.type === 'text' ? block.text.split('\n') : []))
    .find((l) => l.trim())
    ?.trim();
  if (!line) {
    const first = content.find((block) => block.type !== 'text');
    return first ? `[${first.type === 'document' ? (first.name ?? 'document') : 'image'}]` : '';
  }
  if (line.length <= TITLE_LENGTH) return line;
  // Never half of a character made of two UTF-16 units (an emoji): it would be stored as U+FFFD.
  return `${line.slice(0, TITLE_LENGTH - 1).replace(/[\uD800-\uDBFF]$/, '')}…`;
}
