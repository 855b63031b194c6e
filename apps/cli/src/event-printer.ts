import type { CheckpointEvent, SessionEvent, SessionState, TurnBlock } from '@jelmore/contracts';
import {
  counted,
  formatBytes,
  formatDuration,
  formatUsage,
  oneLine,
  shortCommit,
  styleFor,
  summarizeToolInput,
  type Style,
} from './format';
import { Spinner } from './spinner';

export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Where the CLI writes: the reply on `out`, everything about it on `err`, so `> file` keeps the reply. */
export interface Terminal {
  out: OutputStream;
  err: OutputStream;
}

/**
 * Prints a session's events for a person: assistant text as it comes, tool calls as compact lines, a
 * spinner while the agent works (terminals only), and a line with duration, tokens and cost per turn.
 */
export class EventPrinter {
  private readonly style: Style;
  /** Whether `out` is at the start of a line. */
  private atLineStart = true;
  private current?: SessionState;
  private readonly spinner?: Spinner;

  constructor(
    private readonly term: Terminal,
    options: { color: boolean; spinner?: Spinner },
  ) {
    this.style = styleFor(options.color);
    this.spinner = options.spinner;
  }

  /** The state of the last `status` event printed. */
  get state(): SessionState | undefined {
    return this.current;
  }

  print(event: SessionEvent): void {
    const s = this.style;
    switch (event.type) {
      case 'user':
        this.note(`${s.cyan('>')} ${describeInput(event.content, s)}`);
        break;
      case 'assistant':
        this.spinner?.stop();
        if (event.text) this.term.out.write(event.text);
        if (event.text) this.atLineStart = event.text.endsWith('\n');
        break;
      case 'tool_use':
        this.note(`${s.cyan('›')} ${s.bold(event.name)} ${summarizeToolInput(event.input)}`);
        this.working(`running ${event.name}`);
        break;
      case 'tool_result':
        this.note(
          event.isError
            ? s.red(`  ↳ error: ${oneLine(event.output)}`)
            : s.dim(`  ↳ ${oneLine(event.output) || '(no output)'}`),
        );
        this.working('working');
        break;
      case 'status':
        this.current = event.to;
        this.status(event.to, event.from, event.reason);
        break;
      case 'usage':
        // The turn's figures come with its result; the session's total, from the server, at the end.
        break;
      case 'result': {
        const head = event.interrupted ? s.yellow('⏹ interrupted') : s.green('✓ done');
        this.note(`${head} in ${formatDuration(event.durationMs)} · ${formatUsage(event.usage)}`);
        break;
      }
      case 'checkpoint':
        this.note(s.dim(describeCheckpoint(event)));
        break;
      case 'error':
        this.note(s.red(`✗ ${event.code}: ${event.message}`));
        break;
      case 'directory_changed':
        this.note(s.dim(`  cd ${event.to}`));
        break;
      case 'permission_request':
        this.note(
          s.yellow(
            `? ${event.tool} asks for permission: ${summarizeToolInput(event.input)} (request ${event.requestId})`,
          ),
        );
        break;
      case 'permission_resolved': {
        const how = `${event.allow ? 'allowed' : 'denied'} by ${event.by}`;
        this.note(s.dim(`  ↳ ${how}${event.reason ? `: ${oneLine(event.reason)}` : ''}`));
        break;
      }
      case 'child_permission_request':
        this.note(
          s.yellow(
            `? session ${event.childSessionId}: ${event.tool} asks for permission: ${summarizeToolInput(event.input)} (request ${event.requestId})`,
          ),
        );
        break;
      case 'child_permission_resolved': {
        const how = `${event.allow ? 'allowed' : 'denied'} by ${event.by}`;
        this.note(s.dim(`  ↳ session ${event.childSessionId}: ${how}`));
        break;
      }
      case 'child_session':
        this.note(
          s.dim(`↳ started session ${event.childSessionId} (${event.provider} ${event.model})`),
        );
        break;
      default: {
        // A server newer than this CLI: show what came rather than nothing.
        const {
          type,
          sessionId: _id,
          seq: _seq,
          ts: _ts,
          ...rest
        } = event as unknown as { type: string } & Record<string, unknown>;
        this.note(s.dim(`[${type}] ${oneLine(JSON.stringify(rest))}`));
      }
    }
  }

  /** A line on `err`, after ending the reply's current line and erasing the spinner. */
  note(line: string): void {
    this.spinner?.stop();
    if (!this.atLineStart) {
      this.term.out.write('\n');
      this.atLineStart = true;
    }
    this.term.err.write(`${line}\n`);
  }

  /** Ends the reply's last line and the spinner; call before exiting. */
  finish(): void {
    this.spinner?.stop();
    if (!this.atLineStart) this.term.out.write('\n');
    this.atLineStart = true;
  }

  private status(to: SessionState, from: SessionState | null, reason?: string): void {
    const s = this.style;
    switch (to) {
      case 'starting':
      case 'running':
        // The first status says when selection fell back to another provider.
        if (from === null && reason) this.note(s.dim(reason));
        this.working(to === 'starting' ? 'starting' : 'working');
        break;
      case 'idle':
        this.spinner?.stop();
        break;
      case 'failed':
        this.note(s.red(`session failed${reason ? `: ${reason}` : ''}`));
        break;
      case 'suspended':
      case 'terminated':
      case 'interrupted':
        this.note(s.dim(`session ${to}${reason ? ` (${reason})` : ''}`));
        break;
      default: {
        const unknown: never = to;
        this.note(s.dim(`session ${String(unknown)}`));
      }
    }
  }

  private working(label: string): void {
    if (this.atLineStart) this.spinner?.start(label);
  }
}

/** A turn's input on one line: its text, shortened, then each attachment by name or id and size. */
export function describeInput(content: TurnBlock[], s: Style): string {
  const text = oneLine(content.map((block) => (block.type === 'text' ? block.text : '')).join(' '));
  const attachments = content.flatMap((block) =>
    block.type === 'text'
      ? []
      : [
          `[${block.type} ${block.name ?? block.attachmentId.slice(0, 8)} ${formatBytes(block.size)}]`,
        ],
  );
  return [text, attachments.length ? s.dim(attachments.join(' ')) : ''].filter(Boolean).join(' ');
}

/** `✓ checkpoint turn 2 · 3 files · abc1234`: the files as they were when the turn ended. */
function describeCheckpoint(event: CheckpointEvent): string {
  return `✓ checkpoint turn ${event.turn} · ${counted(event.filesChanged, 'file')} · ${shortCommit(event.commit)}`;
}
