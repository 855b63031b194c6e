import { ErrorCode, ModelInfo, SessionEventDraft, Usage, ZERO_USAGE } from '@jelmore/contracts';
import { geminiUsage, GeminiTokenStats } from './gemini.models';

/** The parts of the Gemini CLI's `--output-format stream-json` lines that Jelmore reads. */
export interface GeminiLine {
  type?: string;
  session_id?: string;
  role?: string;
  content?: unknown;
  tool_name?: string;
  tool_id?: string;
  parameters?: unknown;
  status?: string;
  output?: string;
  severity?: string;
  message?: string;
  error?: { type?: string; message?: string };
  stats?: GeminiTokenStats & { duration_ms?: number; models?: Record<string, GeminiTokenStats> };
}

/**
 * Turns the lines of one Gemini CLI run (one turn: init, the user's message, assistant deltas, tool_use,
 * tool_result, error, result) into SessionEvent drafts. The CLI reports tokens per model but no cost:
 * the turn is priced from the model table. Warnings (severity "warning") are not errors of the turn and
 * are left out.
 */
export class GeminiStreamNormalizer {
  /** The CLI's session id, from its init line. */
  providerRef?: string;
  /**
   * The model answered, so the CLI has saved the conversation and `--resume` can find it. A turn whose
   * first model call failed leaves nothing on disk: the next one must start the conversation afresh.
   */
  saved = false;
  /** The result line was read: the turn is over, whatever the process does next. */
  ended = false;
  /** The reply since the last tool call: what the turn's result carries, as Claude's does. */
  private reply = '';
  /** An error line came: the failed result that follows says nothing more. */
  private errorReported = false;

  constructor(private readonly model: ModelInfo) {}

  push(line: GeminiLine): SessionEventDraft[] {
    switch (line.type) {
      case 'init':
        if (typeof line.session_id === 'string') this.providerRef = line.session_id;
        return [];
      case 'message':
        if (line.role !== 'assistant' || typeof line.content !== 'string' || !line.content)
          return [];
        this.saved = true;
        this.reply += line.content;
        return [{ type: 'assistant', text: line.content }];
      case 'tool_use':
        if (!line.tool_id || !line.tool_name) return [];
        this.saved = true;
        this.reply = '';
        return [
          {
            type: 'tool_use',
            id: line.tool_id,
            name: line.tool_name,
            input: line.parameters ?? {},
          },
        ];
      case 'tool_result':
        if (!line.tool_id) return [];
        return [
          {
            type: 'tool_result',
            toolUseId: line.tool_id,
            output: line.output ?? line.error?.message ?? '',
            isError: line.status === 'error',
          },
        ];
      case 'error':
        if (line.severity !== 'error') return [];
        this.errorReported = true;
        return [
          {
            type: 'error',
            code: ErrorCode.AgentError,
            message: line.message ?? 'Gemini CLI error',
          },
        ];
      case 'result':
        return this.result(line);
      default:
        return [];
    }
  }

  /** The turn's process was ended on purpose before its result line: a result marked interrupted. */
  interrupted(durationMs: number): SessionEventDraft[] {
    if (this.ended) return [];
    this.ended = true;
    // Tokens of the calls made before the kill are not reported anywhere: the CLI prints them at the end.
    return [
      {
        type: 'result',
        text: this.reply,
        durationMs,
        usage: { ...ZERO_USAGE },
        interrupted: true,
      },
    ];
  }

  private result(line: GeminiLine): SessionEventDraft[] {
    this.ended = true;
    if (line.status === 'success') this.saved = true;
    const stats = line.stats ?? {};
    const usage: Usage = geminiUsage(stats.models ?? { [this.model.id]: stats }, this.model);
    const drafts: SessionEventDraft[] = [];
    if (line.status === 'error' && !this.errorReported) {
      drafts.push({
        type: 'error',
        code: ErrorCode.AgentError,
        message: line.error?.message ?? 'Gemini CLI turn failed',
      });
    }
    drafts.push({ type: 'usage', ...usage });
    drafts.push({ type: 'result', text: this.reply, durationMs: stats.duration_ms ?? 0, usage });
    return drafts;
  }
}
