import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CodexTokens } from './codex.models';

interface TokenCountLine {
  type?: string;
  payload?: {
    type?: string;
    info?: {
      total_token_usage?: {
        input_tokens?: number;
        cached_input_tokens?: number;
        output_tokens?: number;
      } | null;
    } | null;
  };
}

/**
 * The token totals a Codex thread had used, from the last `token_count` of its rollout
 * (`$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread id>.jsonl`); undefined without one. A resumed
 * thread reports its totals again, so a session continued in a new process starts counting from here.
 */
export async function threadTotals(
  codexHome: string,
  threadId: string,
): Promise<CodexTokens | undefined> {
  const file = await findRollout(join(codexHome, 'sessions'), `-${threadId}.jsonl`);
  if (!file) return undefined;
  const lines = (await readFile(file, 'utf8')).split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].includes('"token_count"')) continue;
    let parsed: TokenCountLine;
    try {
      parsed = JSON.parse(lines[i]) as TokenCountLine;
    } catch {
      continue; // A line cut short by a killed process.
    }
    const total = parsed.payload?.type === 'token_count' && parsed.payload.info?.total_token_usage;
    if (!total) continue;
    return {
      inputTokens: total.input_tokens ?? 0,
      cachedInputTokens: total.cached_input_tokens ?? 0,
      outputTokens: total.output_tokens ?? 0,
    };
  }
  return undefined;
}

async function findRollout(dir: string, suffix: string): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  // Newest dates first: a thread being resumed was most likely started recently.
  for (const entry of entries.sort((a, b) => b.name.localeCompare(a.name))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = await findRollout(path, suffix);
      if (found) return found;
    } else if (entry.name.startsWith('rollout-') && entry.name.endsWith(suffix)) {
      return path;
    }
  }
  return undefined;
}
