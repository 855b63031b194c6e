import type {
  ContentBlock,
  PromptResponse,
  SessionUpdate,
  StopReason,
  ToolCallContent,
  ToolCallUpdate,
} from '@agentclientprotocol/sdk';
import type { ModelInfo, SessionEventDraft, Usage } from '@jelmore/contracts';

/** Token counts some agents put in the `session/prompt` answer (the protocol's draft `usage`). */
export interface AcpTurnUsage {
  inputTokens?: number;
  outputTokens?: number;
  thoughtTokens?: number | null;
  cachedReadTokens?: number | null;
}

/**
 * The token counts of a `session/prompt` answer: the protocol's draft `usage` when the agent sends it,
 * else Gemini CLI's `_meta.quota.token_count` (`input_tokens`, `output_tokens`: all that 0.61 sends),
 * else none.
 */
export function promptUsage(response: PromptResponse): AcpTurnUsage | undefined {
  const { usage } = response as { usage?: AcpTurnUsage | null };
  if (usage) return usage;
  const quota = response._meta?.quota as { token_count?: Record<string, unknown> } | undefined;
  const count = quota?.token_count;
  const input = count?.input_tokens;
  const output = count?.output_tokens;
  if (typeof input !== 'number' && typeof output !== 'number') return undefined;
  return {
    inputTokens: typeof input === 'number' ? input : 0,
    outputTokens: typeof output === 'number' ? output : 0,
  };
}

/**
 * One prompt turn of an ACP session, from `session/update` notifications to session events: text
 * chunks are `assistant` pieces, tool calls `tool_use` and their end `tool_result`; the `session/prompt`
 * answer ends the turn with `usage` and `result`. Replayed history (`session/load`) goes through
 * {@link replayed}, not here. Plans, modes and commands have no session event: they are dropped.
 */
export class AcpTurnNormalizer {
  private reply = '';
  private readonly startedAt = Date.now();
  /** Tool calls announced, and those already ended (an agent may repeat a final update). */
  private readonly tools = new Map<string, { ended: boolean }>();
  /** What each tool call has said of itself, announced or not. */
  private readonly calls = new Map<string, ToolCallUpdate>();
  /** The agent's running cost of the session as last reported (usage_update), when it reports one. */
  private reportedCost?: number;

  /** `costBefore`: the session's cost as the agent reported it by the end of the previous turn. */
  constructor(
    private readonly model: ModelInfo,
    private readonly costBefore?: number,
  ) {
    this.reportedCost = costBefore;
  }

  /** The session's cost as the agent last reported it: the next turn's `costBefore`. */
  get agentCost(): number | undefined {
    return this.reportedCost;
  }

  /**
   * A permission request's tool call, announced as `tool_use` if the agent did not announce it first
   * (Gemini CLI asks before it tells).
   */
  asked(toolCall: ToolCallUpdate): SessionEventDraft[] {
    return this.announce(this.known(toolCall));
  }

  /** A tool call that was refused permission: its failed result, unless the agent gave one. */
  refused(toolCallId: string, reason: string): SessionEventDraft[] {
    const tool = this.tools.get(toolCallId);
    if (!tool || tool.ended) return [];
    tool.ended = true;
    return [{ type: 'tool_result', toolUseId: toolCallId, output: reason, isError: true }];
  }

  push(update: SessionUpdate): SessionEventDraft[] {
    switch (update.sessionUpdate) {
      case 'agent_message_chunk': {
        const text = blockText(update.content);
        if (!text) return [];
        this.reply += text;
        return [{ type: 'assistant', text }];
      }
      case 'tool_call':
      case 'tool_call_update': {
        const call = this.known(update);
        // A call still pending may be told in full later (OpenCode's first word is `bash`, its
        // command comes with the next update): it is announced once more than that is known.
        if (update.sessionUpdate === 'tool_call' && (update.status ?? 'pending') === 'pending') {
          return [];
        }
        return [
          ...this.announce(call),
          ...this.ended(
            update.toolCallId,
            update.status ?? undefined,
            update.content ?? undefined,
            update.rawOutput,
          ),
        ];
      }
      case 'usage_update': {
        const cost = update.cost?.currency === 'USD' ? update.cost.amount : undefined;
        if (cost === undefined) return [];
        const added = cost - (this.reportedCost ?? 0);
        this.reportedCost = cost;
        if (added <= 0) return [];
        // A live figure for budgets: the turn's total follows with its result.
        return [
          {
            type: 'usage',
            inputTokens: 0,
            outputTokens: 0,
            costUsd: round(added),
            estimated: true,
          },
        ];
      }
      default:
        return [];
    }
  }

  /**
   * The end of the turn: the agent's cost since the last turn when it reports its cost, else the
   * answer's tokens priced from the models table; then the result, marked when it was cancelled.
   */
  finish(stopReason: StopReason, usage: AcpTurnUsage | undefined): SessionEventDraft[] {
    const turnUsage = this.turnUsage(usage);
    // Calls still pending when the turn ended were never run, but they were proposed: say so.
    const proposed = [...this.calls.values()].flatMap((call) => this.announce(call));
    const drafts: SessionEventDraft[] = [
      ...proposed,
      { type: 'usage', ...turnUsage },
      {
        type: 'result',
        text: this.reply,
        durationMs: Date.now() - this.startedAt,
        usage: turnUsage,
        ...(stopReason === 'cancelled' ? { interrupted: true } : {}),
      },
    ];
    return drafts;
  }

  private turnUsage(usage: AcpTurnUsage | undefined): Usage {
    const inputTokens = (usage?.inputTokens ?? 0) + (usage?.cachedReadTokens ?? 0);
    const outputTokens = (usage?.outputTokens ?? 0) + (usage?.thoughtTokens ?? 0);
    let costUsd: number;
    if (this.reportedCost !== undefined) {
      costUsd = Math.max(0, this.reportedCost - (this.costBefore ?? 0));
    } else {
      const cached = usage?.cachedReadTokens ?? 0;
      // Cached input at a tenth of the price, as the agents' own APIs bill it.
      costUsd =
        ((inputTokens - cached + cached * 0.1) * this.model.inputPricePerMTok +
          outputTokens * this.model.outputPricePerMTok) /
        1e6;
    }
    return { inputTokens, outputTokens, costUsd: round(costUsd) };
  }

  /** What is known of a tool call so far, its updates merged (the first name it was given kept). */
  private known(update: ToolCallUpdate): ToolCallUpdate {
    const before = this.calls.get(update.toolCallId);
    const merged: ToolCallUpdate = {
      toolCallId: update.toolCallId,
      name: before?.name ?? update.name,
      title: before?.title ?? update.title,
      kind: before?.kind ?? update.kind,
      rawInput: update.rawInput ?? before?.rawInput,
      locations: update.locations?.length ? update.locations : before?.locations,
    };
    this.calls.set(update.toolCallId, merged);
    return merged;
  }

  private announce(call: ToolCallUpdate): SessionEventDraft[] {
    if (this.tools.has(call.toolCallId)) return [];
    this.tools.set(call.toolCallId, { ended: false });
    const locations = call.locations ?? [];
    // Gemini CLI sends `locations: []` with no rawInput: an empty list says nothing.
    const input = call.rawInput ?? (locations.length ? { locations } : {});
    const name = call.name || call.title || call.kind || 'tool';
    return [{ type: 'tool_use', id: call.toolCallId, name, input }];
  }

  private ended(
    id: string,
    status: string | undefined,
    content: ToolCallContent[] | undefined,
    rawOutput: unknown,
  ): SessionEventDraft[] {
    const tool = this.tools.get(id);
    if (!tool || tool.ended || (status !== 'completed' && status !== 'failed')) return [];
    tool.ended = true;
    return [
      {
        type: 'tool_result',
        toolUseId: id,
        output: toolOutput(content, rawOutput),
        isError: status === 'failed',
      },
    ];
  }
}

/** The text of a content block; other kinds (images, resources) as a short mark. */
export function blockText(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'resource_link':
      return block.uri;
    default:
      return '';
  }
}

function toolOutput(content: ToolCallContent[] | undefined, rawOutput: unknown): string {
  const parts = (content ?? []).map((item) => {
    if (item.type === 'content') return blockText(item.content);
    if (item.type === 'diff') return `diff ${item.path}`;
    return `terminal ${item.terminalId}`;
  });
  const text = parts.filter(Boolean).join('\n');
  if (text) return text;
  if (rawOutput === undefined || rawOutput === null) return '';
  return typeof rawOutput === 'string' ? rawOutput : JSON.stringify(rawOutput);
}

function round(usd: number): number {
  return Math.round(usd * 1e9) / 1e9;
}
