/** A configuration error: one line naming the key and what was expected. */
export class ConfigError extends Error {}
