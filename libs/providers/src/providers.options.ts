import type { ClaudeOptions } from './claude/claude.options';
import type { OpencodeOptions } from './opencode/opencode.options';

export interface ProvidersModuleOptions {
  defaultProvider: string;
  /** Where agents keep their own state (HOME, transcripts), so it survives restarts. */
  dataDir: string;
  claude: ClaudeOptions;
  opencode: OpencodeOptions;
  /** The scripted provider (no model: demos and load tests). */
  scripted: { enabled: boolean; maxConcurrentSessions: number };
}
