import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { freePort, ServerProcess } from './support/server-process';
import { connect, EventCollector, request as wsRequest } from './support/ws-client';

/** The stated bound: the server's resident memory while a client stalls through a 50,000-event flood. */
const RSS_BOUND_MIB = 300;
const FLOOD = 50_000;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Stops reading the socket's TCP connection, as a client on a dead link would. */
function stall(socket: Socket, paused: boolean): void {
  const transport = (
    socket.io.engine as unknown as { transport: { ws: { _socket: NodeJS.Socket } } }
  ).transport;
  if (paused) transport.ws._socket.pause();
  else transport.ws._socket.resume();
}

/**
 * Reads until the session's first result, catching up from where it was cut off whenever it lags, as
 * a client does: the flood has no back-pressure, so even a reading client lags if its process pauses
 * for a quarter second (a GC, a busy core), and that is the server doing its job.
 */
async function readToResult(socket: Socket, sessionId: string, events: EventCollector) {
  for (let lags = 0; ; lags++) {
    await events.waitFor(
      (all) => all.some((e) => e.type === 'result') || events.errors.length > lags,
      60_000,
    );
    if (events.ofType('result').length > 0) return;
    const { lastSeq } = events.errors[lags].details as { lastSeq: number };
    await wsRequest(socket, 'session:subscribe', { sessionId, after: lastSeq });
  }
}

describe('a client that stops reading', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-slow-'));
  let server: ServerProcess;

  beforeAll(async () => {
    server = new ServerProcess(await freePort(), {
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      JELMORE_SCRIPTED_ENABLED: 'true',
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it(`is told it lagged while ${FLOOD} events flow; memory stays bounded; it catches up with after`, async () => {
    const created = await request(server.url)
      .post('/v1/sessions')
      .send({ provider: 'scripted', query: `[[events ${FLOOD}]] [[rate 0]] [[bytes 1000]]` })
      .expect(201);
    const session = created.body as SessionResource;
    const before = rssMiB(server.pid!);

    const stalled = await connect(server.url);
    const reader = await connect(server.url);
    try {
      const slow = new EventCollector(stalled, session.id);
      const fast = new EventCollector(reader, session.id);
      await wsRequest(stalled, 'session:subscribe', { sessionId: session.id });
      stall(stalled, true);
      await wsRequest(reader, 'session:subscribe', { sessionId: session.id });

      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(server.pid!))), 20);
      // Cleared whatever happens: a sampler left running would read a gone process's /proc later.
      await readToResult(reader, session.id, fast).finally(() => clearInterval(sampler));
      peak = Math.max(peak, rssMiB(server.pid!));

      // The reading client got everything, in order.
      expect(fast.ofType('assistant')).toHaveLength(FLOOD);
      expect(fast.events.map((e) => e.seq)).toEqual(fast.events.map((_, i) => i + 1));
      expect(peak).toBeLessThan(RSS_BOUND_MIB);
      console.log(
        `server RSS ${before.toFixed(0)} MiB before the flood, ${peak.toFixed(0)} MiB at its peak (bound ${RSS_BOUND_MIB})`,
      );

      stall(stalled, false);
      await slow.waitFor(() => slow.errors.length > 0, 30_000);
      const lagged = slow.errors[0];
      expect(lagged).toMatchObject({ sessionId: session.id, code: 'LAGGED' });
      const lastSeq = (lagged.details as { lastSeq: number }).lastSeq;
      // What it was sent before it lagged is a gapless prefix, ending at the seq the error names.
      expect(slow.events.map((e) => e.seq)).toEqual(slow.events.map((_, i) => i + 1));
      expect(slow.events.at(-1)?.seq ?? 0).toBe(lastSeq);
      expect(lastSeq).toBeLessThan(fast.events.length);

      const resumed = new EventCollector(stalled, session.id);
      await wsRequest(stalled, 'session:subscribe', { sessionId: session.id, after: lastSeq });
      await resumed.waitForResults(1, 30_000);
      expect(resumed.events.map((e) => e.seq)).toEqual(
        resumed.events.map((_, i) => lastSeq + i + 1),
      );
      expect([...slow.events, ...resumed.events].slice(0, fast.events.length)).toEqual(fast.events);
    } finally {
      stalled.disconnect();
      reader.disconnect();
    }
  }, 150_000);
});
