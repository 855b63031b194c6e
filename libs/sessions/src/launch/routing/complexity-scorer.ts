import type { ComplexityVerdict } from './traffic-policies';

/** The tiers the built-in scorer answers, least demanding first. */
export const BUILT_IN_TIERS = ['simple', 'standard', 'complex'] as const;

/** Scores at or below this are `simple`; at or above COMPLEX_FROM, `complex`; `standard` between. */
const SIMPLE_UP_TO = 0;
const COMPLEX_FROM = 5;

const FILE =
  /(?:^|[\s`'"(,])((?:[\w.-]+\/)*[\w-]+\.(?:tsx?|jsx?|mjs|cjs|py|rb|go|rs|java|kt|c|h|cc|cpp|hpp|cs|php|swift|scala|sql|sh|md|json|ya?ml|toml|html|css|scss|vue|svelte))\b/gi;
/** Libraries named like files. */
const NOT_FILES = /^(?:node|next|nuxt|vue|react|express|three|d3|chart|ember|backbone)\.js$/;
/** Wording that asks for many files at once counts as four of them. */
const MANY_FILES =
  /\b(?:every|all(?: the)?|each) (?:files?|modules?|callers?|call sites?|services?)\b|\bacross (?:the )?(?:codebase|code base|repo(?:sitory)?|project|modules|files|services)\b/i;
const LIST_ITEM = /^\s*(?:\d+[.)]|[-*•])\s+\S/gm;
const SEQUENCE = /\b(?:then|after that|afterwards|finally|step \d+)\b/gi;
/** Each stem counts once: "refactor" and "refactoring" are one signal. */
const COMPLEX_WORDS: ReadonlyArray<[string, RegExp]> = [
  ['refactor', /\brefactor/i],
  ['migrate', /\bmigrat/i],
  ['architecture', /\barchitect/i],
  ['redesign', /\bre-?design/i],
  ['rewrite', /\brewrit/i],
  ['overhaul', /\boverhaul/i],
  ['restructure', /\brestructur/i],
  ['concurrency', /\bconcurren/i],
  ['scalability', /\bscal(?:able|ability|e out)\b/i],
];
const ACTION =
  /\b(implement|write|add|create|build|fix|debug|update|change|convert|optimi[sz]e)\b/i;
const QUESTION =
  /^\s*(?:what|why|how|when|where|who|which|is|are|does|do|can|could|should|explain|describe|define|summari[sz]e)\b|\bexplain\b/i;

interface Signal {
  points: number;
  why: string;
}

/**
 * The built-in complexity score of a first query: points for its length, code blocks, files and
 * steps asked for, attachments, and words of big changes (refactor, migrate, architecture...) or of a
 * change at all (write, fix...); a question or an "explain" takes two off. Deterministic: the same
 * text always gets the same tier, score and reason.
 */
export function scoreComplexity(text: string, attachments = 0): ComplexityVerdict {
  const signals: Signal[] = [];
  const add = (points: number, why: string) => {
    if (points !== 0) signals.push({ points, why });
  };
  const words = text.split(/\s+/).filter(Boolean).length;
  add(words > 400 ? 3 : words > 150 ? 2 : words > 50 ? 1 : 0, `${words} words`);
  const blocks = Math.ceil((text.match(/```/g)?.length ?? 0) / 2);
  add(Math.min(blocks, 3), `${blocks} code block${blocks === 1 ? '' : 's'}`);
  const files = MANY_FILES.test(text)
    ? 4
    : new Set(
        [...text.matchAll(FILE)].map((m) => m[1].toLowerCase()).filter((f) => !NOT_FILES.test(f)),
      ).size;
  add(files >= 4 ? 2 : files >= 2 ? 1 : 0, files >= 4 ? 'many files' : `${files} files`);
  const steps = (text.match(LIST_ITEM)?.length ?? 0) + (text.match(SEQUENCE)?.length ?? 0);
  add(steps >= 6 ? 2 : steps >= 3 ? 1 : 0, `${steps} steps`);
  const big = COMPLEX_WORDS.filter(([, pattern]) => pattern.test(text)).map(([word]) => word);
  add(Math.min(2 * big.length, 6), big.join(', '));
  const action = ACTION.exec(text)?.[1].toLowerCase();
  add(action ? 1 : 0, `asks to ${action}`);
  add(QUESTION.test(text) ? -2 : 0, 'a question');
  add(Math.min(attachments, 2), `${attachments} attachment${attachments === 1 ? '' : 's'}`);
  const score = signals.reduce((sum, s) => sum + s.points, 0);
  const tier = score <= SIMPLE_UP_TO ? 'simple' : score >= COMPLEX_FROM ? 'complex' : 'standard';
  const reason = signals.length
    ? signals.map((s) => `${s.why} (${s.points > 0 ? '+' : ''}${s.points})`).join(', ')
    : 'short, nothing asked for';
  return { tier, score, reason };
}
