import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ErrorCode, NotFoundError } from '@jelmore/contracts';

/*
 * Claude Code keeps each conversation as a JSONL transcript, one entry a line, appended as it goes:
 * `<HOME>/.claude/projects/<project folder of the cwd>/<session id>.jsonl` (CLAUDE_CONFIG_DIR would
 * replace `<HOME>/.claude`; Jelmore sets HOME only). `--resume <id>` finds `<id>.jsonl` in any project
 * folder and appends to it; entries carry the conversation's `sessionId`. Checked against CLI 2.1.332.
 */

/** What the CLI cuts a project folder name to; longer ones end in a hash of the whole path. */
const MAX_PROJECT_FOLDER = 200;

/** The transcripts of an agent home. */
export function claudeProjectsDir(home: string): string {
  return join(home, '.claude', 'projects');
}

/**
 * The CLI's project folder name for a cwd: each UTF-16 unit that is not an ASCII letter or digit
 * becomes `-`; past 200 characters, the first 200 and `-<hash in base 36>` (a Java-style string hash).
 */
export function claudeProjectFolder(cwd: string): string {
  const name = cwd.replace(/[^a-zA-Z0-9]/g, '-');
  if (name.length <= MAX_PROJECT_FOLDER) return name;
  let hash = 0;
  for (let i = 0; i < cwd.length; i++) hash = ((hash << 5) - hash + cwd.charCodeAt(i)) | 0;
  return `${name.slice(0, MAX_PROJECT_FOLDER)}-${Math.abs(hash).toString(36)}`;
}

/** Where a conversation started in `cwd` keeps its transcript (the CLI names it after the real path). */
export function claudeTranscriptPath(home: string, cwd: string, conversationId: string): string {
  const real = existsSync(cwd) ? realpathSync(cwd) : cwd;
  return join(claudeProjectsDir(home), claudeProjectFolder(real), `${conversationId}.jsonl`);
}

/** The transcript of conversation `id` in the first home that has one, as `--resume` finds it. */
export function findClaudeTranscript(homes: readonly string[], id: string): string | undefined {
  // The CLI's ids are UUIDs: nothing else names a file of ours.
  if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(id)) return undefined;
  for (const home of homes) {
    const projects = claudeProjectsDir(home);
    if (!existsSync(projects)) continue;
    for (const folder of readdirSync(projects)) {
      const path = join(projects, folder, `${id}.jsonl`);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

interface TranscriptEntry {
  type?: string;
  sessionId?: string;
  isSidechain?: boolean;
  isMeta?: boolean;
  isCompactSummary?: boolean;
  promptId?: string;
  toolUseResult?: unknown;
  message?: { content?: unknown };
}

/** What the CLI writes in the user's name when a turn is interrupted; not a prompt of its own. */
const INTERRUPT_MARKER = /^\[Request interrupted by user/;

/**
 * Which lines start a turn (one per prompt Jelmore sent): main-chain user entries that are neither
 * tool results, nor the CLI's own (meta, compaction summaries, interrupt markers), nor a later entry
 * of the prompt before (the CLI files a turn's interrupt marker under the same `promptId`).
 */
export function transcriptTurnStarts(lines: readonly string[]): number[] {
  const starts: number[] = [];
  let lastPromptId: string | undefined;
  lines.forEach((line, index) => {
    const entry = parseEntry(line);
    if (!entry || entry.type !== 'user' || entry.isSidechain || entry.isMeta) return;
    if (entry.isCompactSummary || entry.toolUseResult !== undefined) return;
    const content = entry.message?.content;
    const blocks = Array.isArray(content)
      ? (content as Array<{ type?: string; text?: string }>)
      : [];
    if (blocks.some((block) => block.type === 'tool_result')) return;
    const text = typeof content === 'string' ? content : (blocks[0]?.text ?? '');
    if (INTERRUPT_MARKER.test(text)) return;
    if (entry.promptId !== undefined && entry.promptId === lastPromptId) return;
    lastPromptId = entry.promptId;
    starts.push(index);
  });
  return starts;
}

/**
 * The transcript as it was when its `turn`-th turn ended: the lines before the next turn's prompt and
 * the queue entries that announce it (a prefix the CLI itself once wrote, so it resumes as such). With
 * `sessionId`, every entry is re-filed under that conversation id, as the CLI's own --fork-session does.
 * A partial last line (the CLI mid-write) is dropped. Throws CheckpointNotFound past the last turn.
 */
export function cutTranscript(text: string, turn: number, sessionId?: string): string {
  const lines = text.split('\n');
  // Empty after the final newline, or a line the CLI is still writing.
  if (parseEntry(lines.at(-1)!) === undefined) lines.pop();
  const starts = transcriptTurnStarts(lines);
  if (turn < 0 || turn > starts.length) {
    throw new NotFoundError(
      `The conversation has ${starts.length} turn(s): there is no turn ${turn} to go back to`,
      ErrorCode.CheckpointNotFound,
    );
  }
  let end = turn === starts.length ? lines.length : starts[turn];
  if (turn < starts.length) {
    while (end > 0 && parseEntry(lines[end - 1])?.type === 'queue-operation') end--;
  }
  const kept = lines.slice(0, end).filter((line) => line.trim() !== '');
  const rewritten = sessionId ? kept.map((line) => refile(line, sessionId)) : kept;
  return rewritten.length > 0 ? `${rewritten.join('\n')}\n` : '';
}

/** Writes `text` to `path` whole or not at all (a temporary file beside it, then a rename). */
export async function writeTranscriptAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    // As private as the CLI makes its own transcripts.
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/** Reads a transcript; CheckpointNotFound when the conversation has none (it never reached the CLI). */
export async function readTranscript(path: string | undefined, id: string): Promise<string> {
  if (!path) {
    throw new NotFoundError(
      `No transcript of Claude Code conversation ${id} in the agent home`,
      ErrorCode.CheckpointNotFound,
    );
  }
  return readFile(path, 'utf8');
}

function refile(line: string, sessionId: string): string {
  const entry = parseEntry(line) as Record<string, unknown> | undefined;
  if (!entry || typeof entry.sessionId !== 'string') return line;
  return JSON.stringify({ ...entry, sessionId });
}

function parseEntry(line: string): TranscriptEntry | undefined {
  if (!line.trim()) return undefined;
  try {
    const parsed: unknown = JSON.parse(line);
    return parsed && typeof parsed === 'object' ? parsed : undefined;
  } catch {
    return undefined;
  }
}
