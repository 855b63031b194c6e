import { parseSetting, type SettingsTable } from '@jelmore/contracts';

/** The built-in session middlewares: loaded and checked by ../policies/middleware.config; rows here for the docs. */
export const MIDDLEWARE_SETTINGS: SettingsTable = {
  redactSecrets: {
    env: 'JELMORE_REDACT_SECRETS',
    file: 'middleware.redactor.enabled',
    parse: parseSetting.bool,
    default: true,
    custom: true,
    description:
      "The redactor: API keys, tokens, private keys and the server's own keys in events are logged (and so delivered and replayed) as `[REDACTED:<kind>]`. See [Middleware](middleware.md#the-redactor).",
  },
  redactPatterns: {
    file: 'middleware.redactor.patterns',
    default: [],
    defaultText: 'none',
    custom: true,
    description:
      'More secrets for the redactor: a list of JavaScript regular expressions (no named groups or backreferences: they are joined into one), redacted as `[REDACTED:custom]`.',
  },
  promptPrefix: {
    env: 'JELMORE_PROMPT_PREFIX',
    file: 'middleware.prompt.prefix',
    custom: true,
    description:
      "Text given to the agent before each turn's input, as a text block of its own (the `user` event shows the input without it). See [Middleware](middleware.md#prompt-prefix-and-suffix).",
  },
  promptSuffix: {
    env: 'JELMORE_PROMPT_SUFFIX',
    file: 'middleware.prompt.suffix',
    custom: true,
    description: "Text given to the agent after each turn's input, the same way.",
  },
};
