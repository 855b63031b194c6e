/**
 * Streamed text (`assistant` events) comes in pieces of a few characters: a secret may begin in one
 * piece and end in the next, where no pattern would find either half. So the end of a piece that may
 * be the start of a secret is held back and put before the next piece; the rest goes out at once.
 * Text that cannot start a secret (most prose, code, CJK) is never held. SecretRedactor.streamed also
 * holds a secret the text ends in (it may go on), and never cuts one in two.
 */

/** How much of the end of the text may hold the beginning of a secret too short yet to be one. */
const TAIL = 64;

/** How tokens with a shape start (see SECRET_PATTERNS): a token of these is held until it ends. */
const TOKEN_PREFIXES = [
  'sk-',
  'ghp_',
  'gho_',
  'ghu_',
  'ghs_',
  'ghr_',
  'github_pat_',
  'AKIA',
  'ASIA',
  ...['a', 'b', 'p', 'o', 's', 'r'].map((c) => `xox${c}-`),
  'jdt.',
];
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
/** Each prefix's beginnings ("s", "sk"): a piece may end right in one. */
const PARTIALS = [
  ...new Set(
    [...TOKEN_PREFIXES, 'Bearer', 'bearer', '-----BEGIN'].flatMap((p) =>
      [...p].map((_, i) => p.slice(0, i + 1)),
    ),
  ),
];
/** A secret starts after a boundary: the start of the text or a character no key is made of. */
const BOUNDARY = '(?:^|[^A-Za-z0-9_])';
/**
 * The end of the text from where a secret may have begun and not ended yet: a token after one of the
 * prefixes, a bearer token, a private key block's header, a URL from its `://` (its password), or the
 * beginning of any of those.
 */
const SUSPECT = new RegExp(
  `${BOUNDARY}(?:(?:${TOKEN_PREFIXES.map(escape).join('|')})\\S*|[Bb]earer\\s{0,8}\\S*|-----BEGIN[A-Z0-9 ]*-{0,4}|${PARTIALS.map(escape).join('|')})$|:(?://\\S*|/?)$`,
  'g',
);

/**
 * Where to hold `text` back from for what may begin a secret in its last characters (a shorter start
 * than any pattern finds); `text.length` when there is none. `secrets`: literal values, held while the
 * text ends in a beginning of one.
 */
export function suspectFrom(text: string, secrets: readonly string[]): number {
  SUSPECT.lastIndex = Math.max(0, text.length - TAIL);
  const match = SUSPECT.exec(text);
  // The whitespace before the secret goes out now.
  let held = match ? match.index + (/^\s/.test(match[0]) ? 1 : 0) : text.length;
  for (const secret of secrets) {
    for (let i = Math.max(0, text.length - secret.length + 1); i < held; i++) {
      if (text.charCodeAt(i) === secret.charCodeAt(0) && secret.startsWith(text.slice(i))) {
        held = i;
        break;
      }
    }
  }
  return held;
}
