import { io, Socket } from 'socket.io-client';
import type { SessionEvent } from '../../libs/contracts/src/events';
import type { SessionResource } from '../../libs/contracts/src/session';
import { WS_NAMESPACE, WsClientEvents, WsServerEvents } from '../../libs/contracts/src/ws-protocol';

/** One WebSocket connection of its own (no multiplexing), as each browser tab or CLI would have. */
export function connect(url: string): Promise<Socket> {
  const socket = io(`${url}${WS_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Opens `count` connections, `parallel` at a time. */
export async function connectMany(url: string, count: number, parallel = 50): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = Math.min(parallel, count - i);
    sockets.push(...(await Promise.all(Array.from({ length: batch }, () => connect(url)))));
  }
  return sockets;
}

export async function request<T extends object>(
  socket: Socket,
  event: string,
  payload: unknown,
): Promise<T> {
  const ack = (await socket.timeout(60_000).emitWithAck(event, payload)) as
    ({ ok: true } & T) | { ok: false; error: { code: string; message: string } };
  if (!ack.ok) throw new Error(`${event}: ${ack.error.code} ${ack.error.message}`);
  return ack;
}

export async function createSession(
  socket: Socket,
  query: string,
  model = 'scripted',
): Promise<SessionResource> {
  const { session } = await request<{ session: SessionResource }>(socket, WsClientEvents.create, {
    provider: 'scripted',
    model,
    query,
  });
  return session;
}

export function subscribe(socket: Socket, sessionId: string): Promise<{ lastSeq: number }> {
  return request(socket, WsClientEvents.subscribe, { sessionId });
}

export function input(socket: Socket, sessionId: string, text: string): Promise<object> {
  return request(socket, WsClientEvents.input, { sessionId, text });
}

export function terminate(socket: Socket, sessionId: string): Promise<object> {
  return request(socket, WsClientEvents.terminate, { sessionId });
}

/** Calls `onEvents` with every event the socket receives, as Jelmore batches or bare single events. */
export function onEvents(
  socket: Socket,
  handler: (events: SessionEvent[], receivedAt: bigint) => void,
): void {
  socket.on(WsServerEvents.events, (batch: SessionEvent[]) =>
    handler(batch, process.hrtime.bigint()),
  );
  socket.on(WsServerEvents.event, (event: SessionEvent) =>
    handler([event], process.hrtime.bigint()),
  );
  socket.on(WsServerEvents.error, (error: unknown) => streamErrors.push(JSON.stringify(error)));
}

/** session:error messages seen by any socket (a lagged subscriber would skew a benchmark). */
export const streamErrors: string[] = [];

/**
 * Counts what one subscriber receives of a turn that streams `expected` assistant events, and resolves
 * `done` at the turn's result. Earlier turns must have ended (or had no text): their results do not count.
 */
export class TurnWatcher {
  assistant = 0;
  done!: Promise<void>;
  private resolve!: () => void;

  constructor(public expected: number) {
    this.reset(expected);
  }

  reset(expected: number): void {
    this.expected = expected;
    this.assistant = 0;
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  take(events: SessionEvent[]): void {
    for (const event of events) {
      if (event.type === 'assistant') this.assistant++;
      else if (event.type === 'result' && this.assistant >= this.expected) this.resolve();
    }
  }
}

/** Closes sockets without waiting for each. */
export function closeAll(sockets: Socket[]): void {
  for (const socket of sockets) socket.disconnect();
}
