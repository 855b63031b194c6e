import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GeminiOptions } from './gemini.options';

/**
 * The CLI's user settings in its HOME: API-key auth (it asks interactively otherwise), nothing phoned
 * home, no self-update, and chats kept until Jelmore's own cleanup, so any session can be resumed.
 * Redaction keeps variables named like secrets (`*KEY*`, `*TOKEN*`: the API key, MCP tokens) from the
 * commands the model runs; the CLI itself still reads them.
 */
const CLI_SETTINGS = {
  security: {
    auth: { selectedType: 'gemini-api-key' },
    environmentVariableRedaction: { enabled: true },
  },
  general: {
    enableAutoUpdate: false,
    enableAutoUpdateNotification: false,
    sessionRetention: { enabled: false },
  },
  privacy: { usageStatisticsEnabled: false },
  telemetry: { enabled: false },
};

/** Our CLI settings in an agent home (rewritten each time: they may have changed with the server). */
export function writeGeminiSettings(home: string): void {
  mkdirSync(join(home, '.gemini'), { recursive: true });
  writeFileSync(
    join(home, '.gemini', 'settings.json'),
    `${JSON.stringify(CLI_SETTINGS, null, 2)}\n`,
  );
}

/** The CLI's own variables: its key and endpoint, no prompts, no second node start. */
export function geminiCliEnv(
  options: Pick<GeminiOptions, 'apiKey' | 'baseUrl'>,
): Record<string, string> {
  return {
    ...(options.apiKey ? { GEMINI_API_KEY: options.apiKey } : {}),
    ...(options.baseUrl ? { GOOGLE_GEMINI_BASE_URL: options.baseUrl } : {}),
    // The session directory is Jelmore's own workspace: no trust prompt for it.
    GEMINI_CLI_TRUST_WORKSPACE: 'true',
    // Otherwise the CLI starts itself again with a larger heap: a second node start on every turn.
    GEMINI_CLI_NO_RELAUNCH: 'true',
  };
}

/** The `gemini` entry of the npm package installed with Jelmore (a script, not under bin/). */
export function defaultGeminiBin(): string | undefined {
  try {
    const manifest = require.resolve('@google/gemini-cli/package.json');
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as {
      bin?: string | Record<string, string>;
    };
    const entry = typeof bin === 'string' ? bin : bin?.gemini;
    return entry ? join(dirname(manifest), entry) : undefined;
  } catch {
    return undefined;
  }
}
