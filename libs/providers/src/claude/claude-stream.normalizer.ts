import { ErrorCode, ModelInfo, SessionEventDraft, Usage } from '@jelmore/contracts';

/** The parts of the CLI's stream-json lines that Jelmore reads. */
interface ClaudeLine {
  type?: string;
  subtype?: string;
  session_id?: string;
  event?: {
    type?: string;
    message?: { id?: string; usage?: TokenCounts };
    delta?: { type?: string; text?: string };
    usage?: TokenCounts;
  };
  message?: { id?: string; content?: unknown };
  result?: string;
  is_error?: boolean;
  errors?: string[];
  duration_ms?: number;
  total_cost_usd?: number;
  usage?: TokenCounts;
}

interface TokenCounts {
  input_tokens?: number;
  output_tokens?: number;
  cache_creation_input_tokens?: number;
  cache_read_input_tokens?: number;
}

// Anthropic's list prices for prompt caching, relative to the model's input price.
const CACHE_WRITE_PRICE = 1.25;
const CACHE_READ_PRICE = 0.1;

interface ContentBlock {
  type?: string;
  text?: string;
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: unknown;
  is_error?: boolean;
}

/**
 * Turns the Claude Code CLI's `--output-format stream-json --include-partial-messages` lines into
 * SessionEvent drafts. One instance per CLI process: the CLI's cost figure is cumulative per process.
 * Given the model's prices, each model call's usage is also reported as it ends, as an estimate, so that
 * a budget can stop a turn between two calls; the CLI's own figure settles the turn.
 */
export class ClaudeStreamNormalizer {
  /** The CLI's session id, from its init line. */
  providerRef?: string;
  private currentMessageId?: string;
  private readonly streamedText = new Set<string>();
  private costSoFar = 0;
  private interruptRequested = false;
  /** Tokens of the model call under way, as its message_start gave them. */
  private callInput?: TokenCounts;

  constructor(private readonly prices?: ModelInfo) {}

  /** The next result ends a turn that the client interrupted, not one that failed. */
  expectInterrupt(): void {
    this.interruptRequested = true;
  }

  /** A new user turn begins: an interrupt asked for after the previous turn ended no longer applies. */
  startTurn(): void {
    this.interruptRequested = false;
  }

  push(line: ClaudeLine): SessionEventDraft[] {
    switch (line.type) {
      case 'system':
        if (line.subtype === 'init' && line.session_id) this.providerRef = line.session_id;
        return [];
      case 'stream_event':
        return this.streamEvent(line.event);
      case 'assistant':
        return this.assistant(line.message);
      case 'user':
        return blocks(line.message?.content)
          .filter((b) => b.type === 'tool_result' && typeof b.tool_use_id === 'string')
          .map((b) => ({
            type: 'tool_result' as const,
            toolUseId: b.tool_use_id!,
            output: toolOutput(b.content),
            isError: b.is_error === true,
          }));
      case 'result':
        return this.result(line);
      default:
        return [];
    }
  }

  private streamEvent(event: ClaudeLine['event']): SessionEventDraft[] {
    if (event?.type === 'message_start') {
      this.currentMessageId = event.message?.id;
      this.callInput = event.message?.usage;
      return [];
    }
    if (event?.type === 'message_delta' && event.usage) return this.callUsage(event.usage);
    if (event?.type === 'content_block_delta' && event.delta?.type === 'text_delta') {
      const text = event.delta.text ?? '';
      if (!text) return [];
      if (this.currentMessageId) this.streamedText.add(this.currentMessageId);
      return [{ type: 'assistant', text }];
    }
    return [];
  }

  private callUsage(delta: TokenCounts): SessionEventDraft[] {
    const input = this.callInput;
    this.callInput = undefined;
    if (!this.prices || !input) return [];
    const fresh = input.input_tokens ?? 0;
    const written = input.cache_creation_input_tokens ?? 0;
    const read = input.cache_read_input_tokens ?? 0;
    const outputTokens = delta.output_tokens ?? input.output_tokens ?? 0;
    const { inputPricePerMTok, outputPricePerMTok } = this.prices;
    const cost =
      ((fresh + written * CACHE_WRITE_PRICE + read * CACHE_READ_PRICE) * inputPricePerMTok +
        outputTokens * outputPricePerMTok) /
      1e6;
    return [
      {
        type: 'usage',
        inputTokens: fresh + written + read,
        outputTokens,
        costUsd: Math.round(cost * 1e9) / 1e9,
        estimated: true,
      },
    ];
  }

  private assistant(message: ClaudeLine['message']): SessionEventDraft[] {
    const streamed = message?.id !== undefined && this.streamedText.has(message.id);
    const drafts: SessionEventDraft[] = [];
    for (const block of blocks(message?.content)) {
      if (block.type === 'text' && block.text && !streamed) {
        drafts.push({ type: 'assistant', text: block.text });
      } else if (block.type === 'tool_use' && block.id && block.name) {
        drafts.push({ type: 'tool_use', id: block.id, name: block.name, input: block.input ?? {} });
      }
    }
    return drafts;
  }

  private result(line: ClaudeLine): SessionEventDraft[] {
    const total = line.total_cost_usd ?? this.costSoFar;
    const usage: Usage = {
      inputTokens:
        (line.usage?.input_tokens ?? 0) +
        (line.usage?.cache_creation_input_tokens ?? 0) +
        (line.usage?.cache_read_input_tokens ?? 0),
      outputTokens: line.usage?.output_tokens ?? 0,
      costUsd: Math.max(0, Math.round((total - this.costSoFar) * 1e9) / 1e9),
    };
    this.costSoFar = total;
    this.streamedText.clear();
    const interrupted = this.interruptRequested && line.is_error === true;
    this.interruptRequested = false;
    const drafts: SessionEventDraft[] = [];
    if (line.is_error && !interrupted) {
      drafts.push({
        type: 'error',
        code: ErrorCode.AgentError,
        message: line.result || line.errors?.join('; ') || `Agent turn failed (${line.subtype})`,
      });
    }
    drafts.push({ type: 'usage', ...usage });
    drafts.push({
      type: 'result',
      text: line.result ?? '',
      durationMs: line.duration_ms ?? 0,
      usage,
      ...(interrupted ? { interrupted: true } : {}),
    });
    return drafts;
  }
}

function blocks(content: unknown): ContentBlock[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? (content as ContentBlock[]) : [];
}

function toolOutput(content: unknown): string {
  if (typeof content === 'string') return content;
  return blocks(content)
    .map((b) => (b.type === 'text' ? (b.text ?? '') : JSON.stringify(b)))
    .join('\n');
}
