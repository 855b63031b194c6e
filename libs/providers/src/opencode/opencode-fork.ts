import { ErrorCode, NotFoundError } from '@jelmore/contracts';
import type { OpencodeServer } from './opencode-server';

/** A message as `GET /session/:id/message` lists it (the fields read here). */
export interface OpencodeMessage {
  info: { id: string; role: string };
  parts: Array<{ type: string; synthetic?: boolean }>;
}

/**
 * The user messages that start a turn, one per prompt Jelmore sent: not those opencode writes itself,
 * a compaction's request (a `compaction` part) and the "continue" note after an automatic one (only
 * synthetic parts). Tool results live in assistant messages.
 */
export function turnMessageIds(messages: readonly OpencodeMessage[]): string[] {
  return messages
    .filter(
      (m) =>
        m.info.role === 'user' &&
        !m.parts.some((part) => part.type === 'compaction') &&
        m.parts.some((part) => !part.synthetic),
    )
    .map((m) => m.info.id);
}

/**
 * A new opencode session in `directory` holding the first `turn` turns of session `ref`: opencode's
 * fork copies the messages before the (turn+1)-th prompt (all of them for the last turn) and touches
 * no file. A fork stays in its source's directory, so it is then moved to `directory` (without the
 * source's changes: Jelmore puts the files there). Turn 0: an empty session. Returns its id.
 */
export async function forkOpencodeSession(
  server: OpencodeServer,
  ref: string | undefined,
  turn: number,
  directory: string,
): Promise<string> {
  const at = `directory=${encodeURIComponent(directory)}`;
  const turns = ref
    ? turnMessageIds(
        await server.request<OpencodeMessage[]>(
          'GET',
          `/session/${encodeURIComponent(ref)}/message?${at}`,
        ),
      )
    : [];
  if (turn < 0 || turn > turns.length) {
    throw new NotFoundError(
      `The conversation has ${turns.length} turn(s): there is no turn ${turn}`,
      ErrorCode.CheckpointNotFound,
    );
  }
  if (turn === 0 || !ref) {
    return (await server.request<{ id: string }>('POST', `/session?${at}`, { title: 'jelmore' }))
      .id;
  }
  const forked = await server.request<{ id: string; directory: string }>(
    'POST',
    `/session/${encodeURIComponent(ref)}/fork?${at}`,
    turn < turns.length ? { messageID: turns[turn] } : {},
  );
  if (forked.directory !== directory) {
    try {
      await server.request('POST', '/experimental/control-plane/move-session', {
        sessionID: forked.id,
        destination: { directory },
        moveChanges: false,
      });
    } catch (err) {
      // A fork left in the source's directory would run its tools there.
      await server.request('DELETE', `/session/${forked.id}`).catch(() => undefined);
      throw err;
    }
  }
  return forked.id;
}
