import { ErrorCode, SessionEventDraft, Usage, ZERO_USAGE } from '@jelmore/contracts';
import { CodexModel, codexCostUsd, CodexTokens } from './codex.models';

/** The parts of `codex exec --json` lines that Jelmore reads. */
export interface CodexLine {
  type?: string;
  thread_id?: string;
  item?: CodexItem;
  usage?: { input_tokens?: number; cached_input_tokens?: number; output_tokens?: number };
  error?: { message?: string };
  message?: string;
}

interface CodexItem {
  id?: string;
  type?: string;
  text?: string;
  command?: string;
  aggregated_output?: string;
  exit_code?: number | null;
  status?: string;
  changes?: Array<{ path?: string; kind?: string }>;
  server?: string;
  tool?: string;
  arguments?: unknown;
  result?: unknown;
  error?: { message?: string } | null;
  query?: string;
}

export const ZERO_TOKENS: CodexTokens = Object.freeze({
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
});

/**
 * Turns `codex exec --json` lines into SessionEvent drafts, across the turns of one session (one exec
 * process per turn). Codex reports a thread's token totals, also after a resume: this keeps the totals
 * already counted and reports each turn's difference, priced with the model's table.
 *
 * Agent messages arrive whole (exec's JSON output has no text deltas): each is one `assistant` event.
 */
export class CodexEventNormalizer {
  /** Codex's thread id, from `thread.started`: what a later turn resumes. */
  threadId?: string;
  private turnId = '';
  private turnStartedAt = 0;
  private lastMessage = '';
  private lastError?: string;
  private ended = true;
  private interruptRequested = false;
  private readonly toolsStarted = new Set<string>();

  /** `totals`: what the thread used before this normalizer, e.g. read back from Codex's rollout. */
  constructor(
    private readonly model: CodexModel,
    private totals: CodexTokens = ZERO_TOKENS,
  ) {}

  /** A turn begins; `turnId` makes its tool ids unique in the session (Codex numbers items per run). */
  startTurn(turnId: string, now = Date.now()): void {
    this.turnId = turnId;
    this.turnStartedAt = now;
    this.lastMessage = '';
    this.lastError = undefined;
    this.ended = false;
    this.interruptRequested = false;
    this.toolsStarted.clear();
  }

  get turnActive(): boolean {
    return !this.ended;
  }

  /** The turn's process is being stopped on purpose: its end is an interrupted result, not a crash. */
  expectInterrupt(): void {
    this.interruptRequested = true;
  }

  push(line: CodexLine, now = Date.now()): SessionEventDraft[] {
    switch (line.type) {
      case 'thread.started':
        if (line.thread_id) this.threadId = line.thread_id;
        return [];
      case 'item.started':
        return line.item ? this.toolUse(line.item) : [];
      case 'item.completed':
        return line.item ? this.completed(line.item) : [];
      case 'error':
        // Comes before turn.failed (which repeats it), or alone before a crash: keep it for that.
        this.lastError = line.message ?? this.lastError;
        return [];
      case 'turn.completed':
        return this.turnCompleted(line, now);
      case 'turn.failed':
        return this.turnFailed(
          readableError(line.error?.message ?? this.lastError ?? 'Codex turn failed'),
          now,
        );
      default:
        return [];
    }
  }

  /**
   * The turn's process exited. After its turn.completed or turn.failed that is the normal end: nothing.
   * Stopped on purpose: an interrupted result. Otherwise undefined: the caller reports the crash.
   */
  exited(now = Date.now()): SessionEventDraft[] | undefined {
    if (this.ended) return [];
    if (!this.interruptRequested) return undefined;
    this.ended = true;
    return [this.result(ZERO_USAGE, now, true)];
  }

  /** The last error Codex printed in the turn, for a crash report. */
  get lastErrorMessage(): string | undefined {
    return this.lastError;
  }

  private completed(item: CodexItem): SessionEventDraft[] {
    if (item.type === 'agent_message') {
      if (!item.text) return [];
      this.lastMessage = item.text;
      return [{ type: 'assistant', text: item.text }];
    }
    const use = this.toolUse(item);
    const result = this.toolResult(item);
    return result ? [...use, result] : use;
  }

  private toolUse(item: CodexItem): SessionEventDraft[] {
    const tool = describeTool(item);
    if (!tool || !item.id) return [];
    const id = this.toolId(item.id);
    if (this.toolsStarted.has(id)) return [];
    this.toolsStarted.add(id);
    return [{ type: 'tool_use', id, name: tool.name, input: tool.input }];
  }

  private toolResult(item: CodexItem): SessionEventDraft | undefined {
    if (!item.id || !describeTool(item)) return undefined;
    const failed = item.status === 'failed' || item.status === 'declined';
    switch (item.type) {
      case 'command_execution':
        return {
          type: 'tool_result',
          toolUseId: this.toolId(item.id),
          output: item.aggregated_output ?? '',
          isError: failed || (item.exit_code ?? 0) !== 0,
        };
      case 'file_change':
        return {
          type: 'tool_result',
          toolUseId: this.toolId(item.id),
          output: (item.changes ?? [])
            .map((c) => `${c.kind ?? 'update'} ${c.path ?? ''}`)
            .join('\n'),
          isError: failed,
        };
      case 'mcp_tool_call':
        return {
          type: 'tool_result',
          toolUseId: this.toolId(item.id),
          output: item.error?.message ?? mcpOutput(item.result),
          isError: failed || Boolean(item.error),
        };
      default:
        return {
          type: 'tool_result',
          toolUseId: this.toolId(item.id),
          output: '',
          isError: failed,
        };
    }
  }

  private turnCompleted(line: CodexLine, now: number): SessionEventDraft[] {
    const total: CodexTokens = {
      inputTokens: line.usage?.input_tokens ?? 0,
      cachedInputTokens: line.usage?.cached_input_tokens ?? 0,
      outputTokens: line.usage?.output_tokens ?? 0,
    };
    // A thread's totals only grow; a smaller figure means totals we never saw: count it as it is.
    const grew = total.inputTokens >= this.totals.inputTokens;
    const turn: CodexTokens = grew
      ? {
          inputTokens: total.inputTokens - this.totals.inputTokens,
          cachedInputTokens: Math.max(0, total.cachedInputTokens - this.totals.cachedInputTokens),
          outputTokens: Math.max(0, total.outputTokens - this.totals.outputTokens),
        }
      : total;
    this.totals = total;
    const usage: Usage = {
      inputTokens: turn.inputTokens,
      outputTokens: turn.outputTokens,
      costUsd: codexCostUsd(this.model, turn),
    };
    this.ended = true;
    return [{ type: 'usage', ...usage }, this.result(usage, now, this.interruptRequested)];
  }

  private turnFailed(message: string, now: number): SessionEventDraft[] {
    this.ended = true;
    // Tokens the failed turn used stay in the thread's totals: the next completed turn counts them.
    return [
      { type: 'error', code: ErrorCode.AgentError, message },
      this.result(ZERO_USAGE, now, false),
    ];
  }

  private result(usage: Usage, now: number, interrupted: boolean): SessionEventDraft {
    return {
      type: 'result',
      text: this.lastMessage,
      durationMs: Math.max(0, now - this.turnStartedAt),
      usage,
      ...(interrupted ? { interrupted: true } : {}),
    };
  }

  private toolId(itemId: string): string {
    return `${this.turnId}/${itemId}`;
  }
}

/** The tool_use name and input of a tool item; undefined for items that are not tool calls. */
function describeTool(item: CodexItem): { name: string; input: unknown } | undefined {
  switch (item.type) {
    case 'command_execution':
      return { name: 'shell', input: { command: item.command ?? '' } };
    case 'file_change':
      return {
        name: 'apply_patch',
        input: { changes: (item.changes ?? []).map((c) => ({ path: c.path, kind: c.kind })) },
      };
    case 'mcp_tool_call':
      return {
        name: `${item.server ?? 'mcp'}.${item.tool ?? 'tool'}`,
        input: item.arguments ?? {},
      };
    case 'web_search':
      return { name: 'web_search', input: { query: item.query ?? '' } };
    default:
      return undefined;
  }
}

/** An MCP result as the model reads it: its text blocks; anything else as JSON. */
function mcpOutput(result: unknown): string {
  const content = (result as { content?: unknown } | null)?.content;
  if (!Array.isArray(content) || content.length === 0) return JSON.stringify(result ?? null);
  const blocks = content as Array<{ type?: string; text?: unknown }>;
  if (!blocks.every((b) => b.type === 'text' && typeof b.text === 'string')) {
    return JSON.stringify(result);
  }
  return blocks.map((b) => b.text as string).join('\n');
}

/** An API error body Codex passes on as it came (`{"error":{"message":...}}`) becomes its message. */
function readableError(message: string): string {
  if (!message.startsWith('{')) return message;
  try {
    const body = JSON.parse(message) as { error?: { message?: unknown } };
    return typeof body.error?.message === 'string' ? body.error.message : message;
  } catch {
    return message;
  }
}
