/** Permission modes of the Claude Code CLI (`--permission-mode`). */
export const CLAUDE_PERMISSION_MODES = [
  'acceptEdits',
  'bypassPermissions',
  'default',
  'plan',
] as const;
export type ClaudePermissionMode = (typeof CLAUDE_PERMISSION_MODES)[number];

export interface ClaudeOptions {
  enabled: boolean;
  /** The CLI binary; by default the one installed from npm with this package. */
  bin?: string;
  defaultModel: string;
  maxConcurrentSessions: number;
  permissionMode: ClaudePermissionMode;
  /** Tools allowed without asking (`--allowedTools`). */
  allowedTools: string[];
  /**
   * CLI processes kept started for new sessions of the default model, settings and cwd (warm start);
   * each costs about 200 MiB while it waits. 0: none.
   */
  warmPoolSize: number;
}

export const DEFAULT_CLAUDE_OPTIONS: ClaudeOptions = {
  enabled: true,
  defaultModel: 'sonnet',
  maxConcurrentSessions: 10,
  // Edits inside the cwd are accepted and Bash is allowed: an agent that can edit and run commands there.
  permissionMode: 'acceptEdits',
  allowedTools: ['Bash', 'Edit', 'Write', 'Read', 'Glob', 'Grep', 'NotebookEdit', 'TodoWrite'],
  // Off: an idle server should not hold a CLI process per slot; operators who want fast starts opt in.
  warmPoolSize: 0,
};
