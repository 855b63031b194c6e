/**
 * Secret values (the server's API keys) kept where the config is, yet out of its JSON and of `inspect`:
 * a log or a dump of the options shows how many there are, never them.
 */
export class SecretValues {
  readonly #values: readonly string[];

  constructor(values: readonly string[]) {
    this.#values = values;
  }

  get values(): readonly string[] {
    return this.#values;
  }

  toJSON(): string {
    return `[${this.#values.length} hidden]`;
  }
}

/** The built-in middlewares' settings (the config file's `middleware`). */
export interface MiddlewareOptions {
  redactor: {
    enabled: boolean;
    /** More RegExp sources, redacted as `[REDACTED:custom]`. */
    patterns: readonly string[];
    /** Values redacted wherever they appear: the server's own API keys. */
    secrets: SecretValues;
  };
  prompt: {
    /** Put before each turn's input as a text block of its own; unset or '': nothing. */
    prefix?: string;
    /** Put after each turn's input as a text block of its own. */
    suffix?: string;
  };
}

/** The redactor on, with its built-in patterns only; no prompt prefix or suffix. */
export const DEFAULT_MIDDLEWARE_OPTIONS: MiddlewareOptions = {
  redactor: { enabled: true, patterns: [], secrets: new SecretValues([]) },
  prompt: {},
};
