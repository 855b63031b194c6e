import type { SessionEvent } from '@jelmore/contracts';
import { SecretRedactor } from '@jelmore/sessions';
import { SHARE_TOKEN_SOURCE } from './share-token';

/** Fields that hold no text of the agent's: left as they are. */
const STRUCTURAL = new Set(['sessionId', 'seq', 'ts', 'type']);

/**
 * The redactor a share view runs over everything it sends, whether or not the redactor middleware is
 * on: the built-in patterns, the operator's, the server's API keys and share tokens themselves.
 */
export function shareRedactor(
  patterns: readonly string[],
  keys: readonly string[],
): SecretRedactor {
  return new SecretRedactor([...patterns, SHARE_TOKEN_SOURCE], keys);
}

/**
 * One share view's pass over a session's events, in seq order. Every string of every event is
 * redacted; assistant text, which streams in pieces, goes through the redactor's streamed mode so a
 * secret cut across two events is caught too: an event whose end may begin a secret is held back
 * until the next event (or flush) says how it goes on. Held text goes out with the held event's seq.
 */
export class ShareRedaction {
  private held?: {
    event: SessionEvent & { type: 'assistant' };
    shown: string;
    rest: string;
    /** The seq of the event the held text began in. */
    from: number;
  };

  constructor(
    private readonly redactor: SecretRedactor,
    /** Shown relative to it: a share view does not tell the server's directory layout. */
    private readonly workspaceRoot?: string,
  ) {}

  /** The events to send now for these, in order (some may wait for the next call). */
  push(events: readonly SessionEvent[]): SessionEvent[] {
    const out: SessionEvent[] = [];
    for (const event of events) {
      if (event.type === 'assistant') {
        const text = (this.held?.rest ?? '') + event.text;
        const from = this.held?.from;
        this.release(out, '');
        const [shown, rest] = this.redactor.streamed(text);
        // Held text longer than this event's began in an earlier one.
        if (rest)
          this.held = {
            event,
            shown,
            rest,
            from: rest.length > event.text.length && from !== undefined ? from : event.seq,
          };
        else out.push({ ...this.deep(event), text: shown } as SessionEvent);
      } else {
        this.release(out, this.held ? this.redactor.text(this.held.rest) : '');
        out.push(this.deep(event));
      }
    }
    return out;
  }

  /**
   * A page of the log (GET events): what `push` gives, cut before the event where held text began,
   * so the next page (after the last seq shown) reads it again whole; at the end of the log (not
   * `full`) that may leave the page empty until more comes. Undefined when a full page is all one
   * possible secret: the caller reads on and asks again with more.
   */
  page(events: readonly SessionEvent[], full: boolean): SessionEvent[] | undefined {
    const out = this.push(events);
    const held = this.held;
    this.held = undefined;
    if (!held) return out;
    if (held.from > events[0].seq || !full) return out.filter((e) => e.seq < held.from);
    return undefined;
  }

  /** What is held back, redacted as it stands: at the end of the stream. */
  flush(): SessionEvent[] {
    const out: SessionEvent[] = [];
    this.release(out, this.held ? this.redactor.text(this.held.rest) : '');
    return out;
  }

  private release(out: SessionEvent[], tail: string): void {
    if (!this.held) return;
    const { event, shown } = this.held;
    this.held = undefined;
    out.push({ ...this.deep(event), text: shown + tail } as SessionEvent);
  }

  private deep(event: SessionEvent): SessionEvent {
    const copy = this.value(event, '') as SessionEvent;
    if (copy.type === 'directory_changed') {
      return { ...copy, from: this.relative(copy.from), to: this.relative(copy.to) };
    }
    return copy;
  }

  private value(value: unknown, key: string): unknown {
    if (typeof value === 'string') return STRUCTURAL.has(key) ? value : this.redactor.text(value);
    if (Array.isArray(value)) return value.map((item: unknown) => this.value(item, ''));
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.entries(value).map(([k, item]) => [k, this.value(item, k)] as const),
      );
    }
    return value;
  }

  private relative(path: string): string {
    const root = this.workspaceRoot?.replace(/\/+$/, '');
    if (!root) return path;
    if (path === root) return '.';
    return path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
  }
}
