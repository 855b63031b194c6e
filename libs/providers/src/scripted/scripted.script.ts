import type { SessionEventDraft } from '@jelmore/contracts';

// Everything below runs both in the server and, as the source of a `node -e` program, in a scripted agent
// process: the functions use only globals and each other, never an import (see SCRIPTED_AGENT_SOURCE).

/**
 * What a scripted agent does in one turn, read from directives in the input (so a load test or a demo
 * can ask for exactly the traffic it wants):
 *   [[events N]]  N assistant text events (default: the input echoed word by word)
 *   [[bytes B]]   each text event B characters long (default 16)
 *   [[rate R]]    R events per second; 0 means as fast as the server takes them (default 50)
 *   [[tool]]      a tool_use / tool_result pair before the text
 *   [[stamp]]     each text event starts with `<ns> `: the agent's monotonic clock (process.hrtime.bigint())
 *                 when it was produced, so a client on the same machine can measure delivery latency
 *   [[memory]]    the reply lists the earlier prompts the conversation holds, `Remembered N: a | b`
 *                 (what a fork or a rewind kept)
 */
export interface TurnScript {
  pieces: number | string[];
  bytes: number;
  ratePerSecond: number;
  tool: boolean;
  stamp: boolean;
  memory: boolean;
}

export function parseScript(input: string): TurnScript {
  const number = (name: string) => {
    const match = new RegExp(`\\[\\[${name} (\\d+)\\]\\]`).exec(input);
    return match ? Number(match[1]) : undefined;
  };
  const events = number('events');
  const text = input.replace(/\[\[[^\]]*\]\]/g, '').trim();
  return {
    pieces: events ?? `Echo: ${text}`.split(/(?<= )/),
    bytes: number('bytes') ?? 16,
    ratePerSecond: number('rate') ?? 50,
    tool: input.includes('[[tool]]'),
    stamp: input.includes('[[stamp]]'),
    memory: input.includes('[[memory]]'),
  };
}

/** Where a turn's events go, and how it waits. */
export interface TurnIo {
  emit(draft: SessionEventDraft): void;
  /** Resolves after `ms` milliseconds (at once when ≤ 0, after other work had its turn). */
  sleep(ms: number): Promise<void>;
  /** True once the turn is interrupted or the agent ends: no more text, the result says so. */
  aborted(): boolean;
}

/**
 * Plays one turn of the traffic `input` asks for (see parseScript); `memory`: the earlier prompts of
 * the conversation, for [[memory]].
 */
export async function playTurn(
  input: string,
  turn: number,
  io: TurnIo,
  memory: readonly string[] = [],
): Promise<void> {
  // Unthrottled, this many events go out between yields to the event loop.
  const unthrottledChunk = 256;
  const startedAt = Date.now();
  const script = parseScript(input);
  if (script.memory) {
    script.pieces = `Remembered ${memory.length}: ${memory.join(' | ')}`.split(/(?<= )/);
  }
  if (script.tool) {
    const id = `scripted-tool-${turn}`;
    io.emit({ type: 'tool_use', id, name: 'Bash', input: { command: 'true' } });
    io.emit({ type: 'tool_result', toolUseId: id, output: '', isError: false });
  }
  const count = typeof script.pieces === 'number' ? script.pieces : script.pieces.length;
  const piece = 'x'.repeat(script.bytes);
  const interval = script.ratePerSecond > 0 ? 1000 / script.ratePerSecond : 0;
  let text = '';
  for (let i = 0; i < count && !io.aborted(); i++) {
    let next = typeof script.pieces === 'number' ? piece : script.pieces[i];
    if (script.stamp) next = `${process.hrtime.bigint()} ${next}`;
    io.emit({ type: 'assistant', text: next });
    if (typeof script.pieces !== 'number') text += next;
    if (interval > 0) await io.sleep(startedAt + (i + 1) * interval - Date.now());
    else if ((i + 1) % unthrottledChunk === 0) await io.sleep(0);
  }
  const usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };
  io.emit({ type: 'usage', ...usage });
  io.emit({
    type: 'result',
    text,
    durationMs: Date.now() - startedAt,
    usage,
    ...(io.aborted() ? { interrupted: true } : {}),
  });
}

/** Lines a scripted agent process reads on stdin. */
export type ScriptedAgentInput =
  { type: 'user'; text: string; turn: number; memory?: string[] } | { type: 'interrupt' };

/**
 * The scripted agent as a program: reads ScriptedAgentInput lines on stdin, plays one turn per user line
 * (in order), and writes each event as a JSON line on stdout, as an agent CLI does. Ends when stdin
 * closes, so it never outlives the server that spawned it.
 */
export function scriptedAgentMain(): void {
  process.title = 'jelmore-scripted-agent';
  let out: string[] = [];
  const flush = () => {
    if (out.length === 0) return;
    // A write to a pipe is synchronous on Linux: the server's reading paces an unthrottled agent.
    process.stdout.write(`${out.join('\n')}\n`);
    out = [];
  };
  let turns: Promise<void> = Promise.resolve();
  let interrupted = false;
  let pending = 0;
  const io = {
    emit: (draft: SessionEventDraft) => {
      out.push(JSON.stringify(draft));
    },
    sleep: (ms: number) => {
      flush();
      return new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
    },
    aborted: () => interrupted,
  };
  const onLine = (line: string) => {
    let message: ScriptedAgentInput;
    try {
      message = JSON.parse(line) as ScriptedAgentInput;
    } catch {
      return;
    }
    if (message.type === 'interrupt') {
      if (pending > 0) interrupted = true;
      return;
    }
    if (message.type !== 'user') return;
    pending++;
    turns = turns.then(async () => {
      interrupted = false;
      await playTurn(message.text, message.turn, io, message.memory);
      flush();
      pending--;
    });
  };
  let partial = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    lines.forEach(onLine);
  });
  process.stdin.on('end', () => process.exit(0));
  process.stdout.on('error', () => process.exit(0));
}

/** The program a scripted agent process runs (`node -e`): the functions above and a call to main. */
export const SCRIPTED_AGENT_SOURCE = [parseScript, playTurn, scriptedAgentMain]
  .map((fn) => fn.toString())
  .concat('scriptedAgentMain();')
  .join('\n');
