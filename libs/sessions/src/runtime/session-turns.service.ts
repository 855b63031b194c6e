import { Injectable } from '@nestjs/common';
import {
  AgentInput,
  AgentProviderPort,
  ErrorCode,
  JelmoreError,
  TurnBlock,
  TurnContent,
} from '@jelmore/contracts';
import { ProviderRegistry } from '@jelmore/providers';
import { Attachments, CheckedTurn, ContentCapability } from '../attachments/attachments.service';
import { EventLog } from '../events/event-log.service';
import type { SessionActor } from '../sessions.types';
import type { SessionRecord } from '../store/session-record';

const TITLE_LENGTH = 80;

/**
 * A turn's input on its way to the agent: checked against whose it is and what the session's provider
 * takes, kept (attachments by reference), announced in the log as the turn's `user` event, and given to
 * the agent with its attachments' bytes.
 */
@Injectable()
export class SessionTurns {
  constructor(
    private readonly attachments: Attachments,
    private readonly log: EventLog,
    private readonly registry: ProviderRegistry,
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

  /** Logs the turn's input as its `user` event, right before the agent gets it. */
  async announce(sessionId: string, content: TurnBlock[]): Promise<void> {
    await this.log.append(sessionId, { type: 'user', content });
  }

  /**
   * What the agent is given: the content with its attachments' bytes. Loaded before the turn changes any
   * state, so bytes that are gone (ATTACHMENT_NOT_FOUND) leave the session as it was.
   */
  input(content: readonly TurnBlock[]): Promise<AgentInput> {
    return this.attachments.load(content);
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
