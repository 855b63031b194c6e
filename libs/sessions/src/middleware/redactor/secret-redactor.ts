import type { SessionEventDraft, TurnBlock } from '@jelmore/contracts';
import { suspectFrom } from './streamed-secrets';

/** The most streamed text held back: a private key block (an RSA 4096 one is about 3.3 KB) fits. */
const MAX_HELD = 16 * 1024;

/** A kind of secret and its pattern: RegExp sources with no capture groups (all are joined into one). */
export interface SecretPattern {
  kind: string;
  source: string;
  /** Kept before and after the secret. Matched, not looked behind: a lookbehind is tried at every position. */
  lead?: string;
  tail?: string;
}

/**
 * Secrets with a shape of their own. Conservative: a key's prefix and length, never a word like
 * `password` followed by whatever comes next, which would mangle code.
 */
export const SECRET_PATTERNS: readonly SecretPattern[] = [
  {
    kind: 'private_key',
    // An unterminated block (cut off, or still streaming) is redacted to the end of the text.
    source: String.raw`-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|$)`,
  },
  { kind: 'anthropic_key', source: String.raw`\bsk-ant-[A-Za-z0-9_-]{20,}` },
  {
    kind: 'openai_key',
    // Without a project prefix, letters and digits only: a kebab-case word starting `sk-` is no key.
    source: String.raw`\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{32,})`,
  },
  {
    kind: 'github_token',
    source: String.raw`\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`,
  },
  { kind: 'aws_access_key', source: String.raw`\b(?:AKIA|ASIA)[A-Z0-9]{16}\b` },
  { kind: 'slack_token', source: String.raw`\bxox[abposr]-[A-Za-z0-9-]{10,}` },
  // Jelmore's delegation tokens (jdt.<claims>.<signature>), which delegating agents hold.
  { kind: 'jelmore_token', source: String.raw`\bjdt\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}` },
  {
    kind: 'bearer_token',
    lead: String.raw`\b[Bb]earer\s{1,8}`,
    source: String.raw`[A-Za-z0-9._~+/-]{16,}=*`,
  },
  // No scheme needed: streamed text may have let it go before the rest came.
  {
    kind: 'url_password',
    lead: String.raw`://[^\s:/@]{1,128}:`,
    source: String.raw`[^\s/@]{1,128}`,
    tail: '@',
  },
];

/** What a secret of `kind` becomes in the log. */
export function redacted(kind: string): string {
  return `[REDACTED:${kind}]`;
}

/**
 * Finds secrets in text with one combined RegExp: the built-in patterns, the server's own keys as
 * literals (`jelmore_key`) and the operator's extra patterns (`custom`). Strings it changes nothing in
 * come back as they were, so an event without secrets is not copied.
 */
export class SecretRedactor {
  private readonly pattern: RegExp;

  constructor(
    extra: readonly string[] = [],
    /** Literal values: the server's API keys. */
    private readonly secrets: readonly string[] = [],
  ) {
    const groups = SECRET_PATTERNS.map(
      ({ kind, lead, source, tail }) =>
        `(?<${kind}>${lead ? `(?<${kind}${LEAD}>${lead})` : ''}${source}${tail ? `(?<${kind}${TAIL}>${tail})` : ''})`,
    );
    // First, so the server's own key is named as one even where it has another secret's shape.
    if (secrets.length > 0) {
      const longestFirst = [...secrets].sort((a, b) => b.length - a.length);
      groups.unshift(`(?<jelmore_key>${longestFirst.map(escapeRegExp).join('|')})`);
    }
    if (extra.length > 0) groups.push(`(?<custom>${extra.map((p) => `(?:${p})`).join('|')})`);
    this.pattern = new RegExp(groups.join('|'), 'g');
  }

  text(text: string): string {
    return text.replace(this.pattern, replaceSecret);
  }

  /**
   * Streamed text, split into what goes out now, redacted, and what is held back to go before the next
   * piece: what may begin a secret (see suspectFrom), a secret the text ends in (it may go on), and
   * never half of one. One pass of the pattern.
   */
  streamed(text: string): [shown: string, held: string] {
    let cut = suspectFrom(text, this.secrets);
    let shown = '';
    let last = 0;
    this.pattern.lastIndex = 0;
    for (let m = this.pattern.exec(text); m && m.index < cut; m = this.pattern.exec(text)) {
      const end = m.index + m[0].length;
      if (end >= cut || end === text.length) {
        cut = m.index;
        break;
      }
      shown += text.slice(last, m.index) + replacement(m.groups as Groups);
      last = end;
    }
    this.pattern.lastIndex = 0;
    // Longer than any secret: let it go, redacted as it is.
    if (text.length - cut > MAX_HELD) return [this.text(text), ''];
    if (last === 0 && cut === text.length) return [text, ''];
    return [shown + text.slice(last, cut), text.slice(cut)];
  }

  /** The event with the strings of its text-bearing fields redacted; the same object if none changed. */
  event(draft: SessionEventDraft): SessionEventDraft {
    switch (draft.type) {
      case 'assistant':
      case 'result': {
        const text = this.text(draft.text);
        return text === draft.text ? draft : { ...draft, text };
      }
      case 'tool_result': {
        const output = this.text(draft.output);
        return output === draft.output ? draft : { ...draft, output };
      }
      case 'error': {
        const message = this.text(draft.message);
        return message === draft.message ? draft : { ...draft, message };
      }
      case 'tool_use':
      case 'permission_request': {
        const input = this.value(draft.input);
        return input === draft.input ? draft : { ...draft, input };
      }
      case 'user': {
        const content = this.blocks(draft.content);
        return content === draft.content ? draft : { ...draft, content };
      }
      default:
        return draft;
    }
  }

  /** The strings of a JSON value (a tool's input), redacted; copies only what changed. */
  private value(value: unknown): unknown {
    if (typeof value === 'string') return this.text(value);
    if (Array.isArray(value)) {
      const items = value.map((item: unknown) => this.value(item));
      return items.some((item, i) => item !== value[i]) ? items : value;
    }
    if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      const changed = entries.map(([key, item]) => [key, this.value(item)] as const);
      return changed.some(([, item], i) => item !== entries[i][1])
        ? Object.fromEntries(changed)
        : value;
    }
    return value;
  }

  private blocks(content: TurnBlock[]): TurnBlock[] {
    const blocks = content.map((block) => {
      if (block.type !== 'text') return block;
      const text = this.text(block.text);
      return text === block.text ? block : { ...block, text };
    });
    return blocks.some((block, i) => block !== content[i]) ? blocks : content;
  }
}

const LEAD = '__lead';
const TAIL = '__tail';

type Groups = Record<string, string | undefined>;

/** For String.replace: its replacer's last argument is the named groups. */
function replaceSecret(...args: unknown[]): string {
  return replacement(args[args.length - 1] as Groups);
}

/**
 * Names the kind by the group that matched (a kind's group comes before its lead's and tail's), and
 * keeps the lead and tail.
 */
function replacement(groups: Groups): string {
  for (const kind in groups) {
    if (groups[kind] === undefined) continue;
    return `${groups[kind + LEAD] ?? ''}${redacted(kind)}${groups[kind + TAIL] ?? ''}`;
  }
  return redacted('secret');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
