import {
  TERMINAL_STATES,
  type SessionEvent,
  type SessionResource,
  type SessionState,
} from '@jelmore/contracts';
import type { CreateSessionRequest, JelmoreClient, SessionEventStream } from '@jelmore/client';
import { describeWorktreeRemoval } from './checkpoint-format';
import { EventPrinter, type Terminal } from './event-printer';
import { formatUsage, styleFor, wantsColor } from './format';
import { Spinner } from './spinner';

/** Exit code after Ctrl-C, as shells report a SIGINT death. */
export const EXIT_INTERRUPTED = 130;
/** How long `run` waits after the turn's result for its checkpoint (a git commit of the files). */
const CHECKPOINT_WAIT_MS = 5000;

export interface StreamOutput {
  term: Terminal;
  json: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * Calls `handler` on each Ctrl-C instead of dying, for as long as the returned function is not
 * called. The count starts at 1.
 */
export function onCtrlC(handler: (count: number) => void): () => void {
  let count = 0;
  const listener = () => handler(++count);
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}

export function printerFor(output: StreamOutput): EventPrinter {
  const color = wantsColor(output.term.err, output.env);
  // The spinner redraws its line: only on a terminal, and never in JSON mode.
  const spinner =
    !output.json && output.term.err.isTTY && output.env.TERM !== 'dumb'
      ? new Spinner(output.term.err)
      : undefined;
  return new EventPrinter(output.term, { color, spinner });
}

/** Writes dimmed notes beside the events (the session's id, how it ended), never in JSON mode. */
export function notesFor(output: StreamOutput, printer: EventPrinter): (line: string) => void {
  const style = styleFor(wantsColor(output.term.err, output.env));
  return (line) => {
    if (!output.json) printer.note(style.dim(line));
  };
}

export function emit(output: StreamOutput, printer: EventPrinter, event: SessionEvent): void {
  if (output.json) output.term.out.write(`${JSON.stringify(event)}\n`);
  else printer.print(event);
}

function describe(error: unknown): string {
  if (error instanceof Error && 'code' in error) return `${String(error.code)}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * `jelmore run`: creates a session, streams its first turn and ends with its usage and cost. Ctrl-C
 * interrupts the turn, a second Ctrl-C terminates the session. Unless `keep`, the session is
 * terminated when the turn ends. Resolves to the exit code.
 */
export async function runSession(
  client: JelmoreClient,
  request: CreateSessionRequest,
  options: StreamOutput & { keep: boolean },
): Promise<number> {
  const printer = printerFor(options);
  const say = notesFor(options, printer);
  let session: SessionResource | undefined;
  let stream: SessionEventStream | undefined;
  let checkpointWait: ReturnType<typeof setTimeout> | undefined;
  let terminating: Promise<SessionResource | undefined> | undefined;
  let ctrlC = 0;
  const terminate = (id: string) =>
    (terminating ??= client.terminate(id).catch((err: unknown) => {
      printer.note(describe(err));
      return undefined;
    }));
  const release = onCtrlC((count) => {
    ctrlC = count;
    if (!session) return; // Handled once the session exists.
    if (count === 1) {
      say('interrupting… (Ctrl-C again to terminate)');
      client.interrupt(session.id).catch((err: unknown) => printer.note(describe(err)));
    } else {
      say('terminating…');
      void terminate(session.id);
    }
  });
  try {
    session = await client.createSession(request);
    const id = session.id;
    if (ctrlC > 0) {
      await terminate(id);
      return EXIT_INTERRUPTED;
    }
    const branch = session.worktree ? ` · worktree ${session.worktree.branch}` : '';
    say(`session ${id} · ${session.provider} · ${session.model}${branch}`);
    stream = client.stream(id, {
      onConnectionChange: (up) => say(up ? 'reconnected' : 'connection lost, reconnecting…'),
    });
    let failed = false;
    let state: SessionState = session.state;
    // A session with checkpoints (turn 0's came first) records the turn's after its result, before it
    // goes idle; the timer only guards against a server that never sends it.
    let checkpoints = false;
    for await (const event of stream) {
      emit(options, printer, event);
      if (event.type === 'error') failed = true;
      if (event.type === 'status') state = event.to;
      if (event.type === 'checkpoint') checkpoints = true;
      if (checkpointWait && ['checkpoint', 'status', 'error'].includes(event.type)) break;
      if (event.type === 'result') {
        if (!checkpoints) break;
        const open = stream;
        checkpointWait = setTimeout(() => open.close(), CHECKPOINT_WAIT_MS);
      }
      // Suspended (e.g. the server is shutting down) or cut off by a crash: no result will come.
      if (state === 'suspended' || state === 'interrupted') break;
    }
    if (state === 'suspended' || state === 'interrupted') {
      say(`session ${id} ${state}: jelmore resume ${id}, then jelmore send ${id} <text>`);
      return ctrlC > 0 ? EXIT_INTERRUPTED : 1;
    }
    if (state === 'failed') failed = true;
    let ended = await terminating;
    if (!ended && !TERMINAL_STATES.has(state) && options.keep) {
      const diff = checkpoints ? ` · jelmore diff ${id}` : '';
      say(`session ${id} kept: jelmore attach ${id}${diff} · jelmore kill ${id}`);
    } else {
      ended ??= TERMINAL_STATES.has(state) ? await client.getSession(id) : await terminate(id);
      if (ended) say(`session ${id} ${ended.state} · ${formatUsage(ended.usage)}`);
      if (ended?.worktreeRemoved) say(describeWorktreeRemoval(ended.worktreeRemoved));
    }
    if (ctrlC > 0) return EXIT_INTERRUPTED;
    return failed ? 1 : 0;
  } finally {
    clearTimeout(checkpointWait);
    release();
    stream?.close();
    printer.finish();
  }
}

/**
 * `jelmore attach`: replays a session from `after`, then follows it live until it ends. Ctrl-C
 * interrupts a running turn (a second one detaches) or detaches from an idle session.
 */
export async function attachSession(
  client: JelmoreClient,
  sessionId: string,
  options: StreamOutput & { after: number },
): Promise<number> {
  const printer = printerFor(options);
  const say = notesFor(options, printer);
  // Fails here, with the server's code, for a session that does not exist.
  let state: SessionState = (await client.getSession(sessionId)).state;
  const stream = client.stream(sessionId, {
    after: options.after,
    onConnectionChange: (up) => say(up ? 'reconnected' : 'connection lost, reconnecting…'),
  });
  let detached = false;
  const release = onCtrlC((count) => {
    if (count === 1 && (state === 'running' || state === 'starting')) {
      say('interrupting… (Ctrl-C again to detach)');
      client.interrupt(sessionId).catch((err: unknown) => printer.note(describe(err)));
      return;
    }
    detached = true;
    stream.close();
  });
  try {
    for await (const event of stream) {
      emit(options, printer, event);
      if (event.type === 'status') state = event.to;
    }
    const session = await client.getSession(sessionId);
    say(
      `${detached ? 'detached: ' : ''}session ${sessionId} ${session.state} · ${formatUsage(session.usage)}`,
    );
    return session.state === 'failed' && !detached ? 1 : 0;
  } finally {
    release();
    stream.close();
    printer.finish();
  }
}
