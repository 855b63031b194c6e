import { io, Socket } from 'socket.io-client';
import supertest from 'supertest';
import type { SessionEvent, SessionResource, SessionStreamError, WsAck } from '@jelmore/contracts';
import { eventually, processesIn } from './processes';

export function connect(url: string, token?: string): Promise<Socket> {
  const socket = io(`${url}/sessions`, {
    transports: ['websocket'],
    reconnection: false,
    ...(token ? { auth: { token } } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

export async function request<T extends object = object>(
  socket: Socket,
  event: string,
  payload: unknown,
): Promise<WsAck<T>> {
  return (await socket.timeout(30_000).emitWithAck(event, payload)) as WsAck<T>;
}

/** Everything one socket receives for one session, with the time each event arrived. */
export class EventCollector {
  readonly events: SessionEvent[] = [];
  readonly receivedAt: number[] = [];
  readonly errors: SessionStreamError[] = [];
  private waiters: Array<() => void> = [];

  constructor(
    socket: Socket,
    private readonly sessionId: string,
  ) {
    const add = (event: SessionEvent) => {
      if (event.sessionId !== this.sessionId) return;
      this.events.push(event);
      this.receivedAt.push(Date.now());
    };
    socket.on('session:events', (batch: SessionEvent[]) => {
      batch.forEach(add);
      this.notify();
    });
    socket.on('session:event', (event: SessionEvent) => {
      add(event);
      this.notify();
    });
    socket.on('session:error', (error: SessionStreamError) => {
      this.errors.push(error);
      this.notify();
    });
  }

  ofType<T extends SessionEvent['type']>(type: T): Extract<SessionEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SessionEvent, { type: T }> => e.type === type);
  }

  /** Resolves once `predicate` holds over what arrived; rejects after `timeoutMs`. */
  async waitFor(predicate: (events: SessionEvent[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.events)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        const tail = this.events.slice(-10).map((e) => `${e.seq}:${e.type}`);
        throw new Error(
          `Timed out waiting for events; got ${this.events.length} (last: ${tail.join(' ')}), errors: ${JSON.stringify(this.errors)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the n-th `result` event (1-based). */
  waitForResults(n: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(
      (events) => events.filter((e) => e.type === 'result').length >= n,
      timeoutMs,
    );
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }
}

/** Creates a session over `socket` and subscribes to it: its resource and what arrives for it. */
export async function startSession(
  socket: Socket,
  payload: object,
): Promise<{ session: SessionResource; events: EventCollector }> {
  const ack = await request<{ session: SessionResource }>(socket, 'session:create', payload);
  if (!ack.ok) throw new Error(JSON.stringify(ack.error));
  const events = new EventCollector(socket, ack.session.id);
  await request(socket, 'session:subscribe', { sessionId: ack.session.id });
  return { session: ack.session, events };
}

/** Terminates a session over REST; resolves once no process runs in its directory any more. */
export async function terminateSession(url: string, session: SessionResource): Promise<void> {
  await supertest(url).delete(`/v1/sessions/${session.id}`).expect(200);
  expect(await eventually(() => processesIn(session.cwd).length === 0)).toBe(true);
}
