import {
  addUsage,
  ErrorCode,
  ModelInfo,
  SessionEventDraft,
  Usage,
  ZERO_USAGE,
} from '@jelmore/contracts';
import { costUsd } from './opencode.models';

/** One event of opencode's event stream (`payload` of /global/event). */
export interface OpencodeEvent {
  type: string;
  properties?: Record<string, unknown> & { sessionID?: string };
}

interface Part {
  id: string;
  messageID: string;
  type: string;
  text?: string;
  time?: { end?: number };
  tool?: string;
  callID?: string;
  state?: { status?: string; input?: unknown; output?: string; error?: string };
  tokens?: {
    input?: number;
    output?: number;
    reasoning?: number;
    cache?: { read?: number; write?: number };
  };
}

interface Turn {
  startedAt: number;
  /** opencode said busy for this turn: only an idle after that ends it (aborts send a stale second idle). */
  busy: boolean;
  text: string;
  usage: Usage;
  aborted: boolean;
}

/**
 * Turns one opencode session's events into SessionEvent drafts. Deltas carry neither the part's type nor
 * the message's role, so both are remembered from the `message.updated` / `message.part.updated` events
 * that announce them: only assistant text becomes `assistant` events (not the user's text, not reasoning).
 * A turn ends on the first `session.idle` after it went busy (aborts and errors send two idles).
 * Usage is reported per step (model call); the turn's result carries their sum.
 */
export class OpencodeEventNormalizer {
  private readonly roles = new Map<string, string>();
  private readonly partTypes = new Map<string, string>();
  private readonly streamedParts = new Set<string>();
  private readonly announcedTools = new Set<string>();
  private readonly finishedTools = new Set<string>();
  private readonly finishedSteps = new Set<string>();
  private turn?: Turn;

  constructor(private readonly model: ModelInfo) {}

  /** Call before sending a prompt: its events may arrive before the HTTP answer. */
  startTurn(now = Date.now()): void {
    this.turn = {
      startedAt: now,
      busy: false,
      text: '',
      usage: { ...ZERO_USAGE },
      aborted: false,
    };
  }

  /**
   * The client stopped the running turn. opencode reports an abort between two steps with no
   * MessageAbortedError, so the turn is marked here, as the Claude normalizer does.
   */
  expectInterrupt(): void {
    if (this.turn) this.turn.aborted = true;
  }

  get turnActive(): boolean {
    return this.turn !== undefined;
  }

  push(event: OpencodeEvent, now = Date.now()): SessionEventDraft[] {
    const props = event.properties ?? {};
    switch (event.type) {
      case 'message.updated': {
        const info = props.info as { id?: string; role?: string } | undefined;
        if (info?.id && info.role) this.roles.set(info.id, info.role);
        return [];
      }
      case 'message.part.updated':
        return this.partUpdated(props.part as Part | undefined);
      case 'message.part.delta':
        return this.delta(
          props as { messageID?: string; partID?: string; field?: string; delta?: string },
        );
      case 'session.error':
        return this.error(
          props.error as { name?: string; data?: { message?: string } } | undefined,
        );
      case 'session.status':
        if ((props.status as { type?: string } | undefined)?.type === 'busy' && this.turn)
          this.turn.busy = true;
        return [];
      case 'session.idle':
        return this.idle(now);
      default:
        return [];
    }
  }

  private partUpdated(part: Part | undefined): SessionEventDraft[] {
    if (!part?.id) return [];
    this.partTypes.set(part.id, part.type);
    if (part.type === 'text') {
      // Text that arrived whole (no deltas) is reported once, when the part is complete.
      const complete = part.time?.end !== undefined && !this.streamedParts.has(part.id);
      if (!complete || !part.text || this.roles.get(part.messageID) !== 'assistant') return [];
      this.streamedParts.add(part.id);
      return [this.assistantText(part.text)];
    }
    if (part.type === 'step-finish' && this.turn && !this.finishedSteps.has(part.id)) {
      this.finishedSteps.add(part.id);
      return [this.stepUsage(this.turn, part.tokens ?? {})];
    }
    if (part.type === 'tool' && part.callID) return this.tool(part.callID, part);
    return [];
  }

  /** Each model call's usage as it ends, so that a budget can stop the turn between two calls. */
  private stepUsage(turn: Turn, tokens: NonNullable<Part['tokens']>): SessionEventDraft {
    const inputTokens =
      (tokens.input ?? 0) + (tokens.cache?.read ?? 0) + (tokens.cache?.write ?? 0);
    const outputTokens = (tokens.output ?? 0) + (tokens.reasoning ?? 0);
    const step: Usage = {
      inputTokens,
      outputTokens,
      costUsd: costUsd(this.model, inputTokens, outputTokens),
    };
    turn.usage = addUsage(turn.usage, step);
    return { type: 'usage', ...step };
  }

  private tool(callId: string, part: Part): SessionEventDraft[] {
    const status = part.state?.status;
    if (status !== 'running' && status !== 'completed' && status !== 'error') return [];
    const drafts: SessionEventDraft[] = [];
    if (!this.announcedTools.has(callId)) {
      this.announcedTools.add(callId);
      drafts.push({
        type: 'tool_use',
        id: callId,
        name: part.tool ?? 'unknown',
        input: part.state?.input ?? {},
      });
    }
    if ((status === 'completed' || status === 'error') && !this.finishedTools.has(callId)) {
      this.finishedTools.add(callId);
      drafts.push({
        type: 'tool_result',
        toolUseId: callId,
        output:
          status === 'completed'
            ? (part.state?.output ?? '')
            : (part.state?.error ?? 'tool failed'),
        isError: status === 'error',
      });
    }
    return drafts;
  }

  private delta(props: {
    messageID?: string;
    partID?: string;
    field?: string;
    delta?: string;
  }): SessionEventDraft[] {
    const { messageID, partID, field, delta } = props;
    if (!partID || !messageID || field !== 'text' || !delta) return [];
    if (this.partTypes.get(partID) !== 'text' || this.roles.get(messageID) !== 'assistant')
      return [];
    this.streamedParts.add(partID);
    return [this.assistantText(delta)];
  }

  private assistantText(text: string): SessionEventDraft {
    if (this.turn) this.turn.text += text;
    return { type: 'assistant', text };
  }

  private error(
    error: { name?: string; data?: { message?: string } } | undefined,
  ): SessionEventDraft[] {
    if (error?.name === 'MessageAbortedError') {
      if (this.turn) this.turn.aborted = true;
      return [];
    }
    return [
      {
        type: 'error',
        code: ErrorCode.AgentError,
        message: error?.data?.message ?? error?.name ?? 'opencode reported an error',
      },
    ];
  }

  private idle(now: number): SessionEventDraft[] {
    const turn = this.turn;
    if (!turn?.busy) return [];
    this.turn = undefined;
    return [
      {
        type: 'result',
        text: turn.text,
        durationMs: now - turn.startedAt,
        usage: turn.usage,
        ...(turn.aborted ? { interrupted: true } : {}),
      },
    ];
  }
}
