import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { io, Socket } from 'socket.io-client';
import { WS_NAMESPACE, WsClientEvents } from '../../libs/contracts/src/ws-protocol';
import { BenchContext, profiled, withServer } from '../support/context';
import type { LagStats } from '../support/probe';
import { Measured, metric } from '../support/results';
import type { ServerUnderTest } from '../support/servers';
import { median, percentile, spread } from '../support/stats';
import { stopAndCollect } from '../support/worker-samples';

/** The server's defaults, set here because the other benchmarks' servers raise the per-minute limit. */
const PER_MINUTE = 600;
const BURST = 60;
const PROBE_INTERVAL_MS = 20;
const PROBE_TARGET_MS = 100;
/** Creates are sent in this many slices, evenly over the burst's second. */
const SLICES = 20;
const CREATE = { provider: 'scripted', model: 'scripted', query: '[[events 1]] [[rate 0]]' };
const keyOf = (id: string) => `${id}-bench-key-0123456789`;
/** An admin key of its own terminates the admitted sessions, outside the burst key's bucket. */
const ADMIN = 'cleanup';

/** Wall-clock milliseconds, comparable between this thread and the prober's. */
const now = () => performance.timeOrigin + performance.now();

/**
 * The prober, in a worker thread with an event loop of its own, so the burst's sends and acks on the
 * main thread do not delay its timing: GET `url` every `intervalMs` (each on its own, not waiting for the
 * one before) until told to stop, then wait for those in flight and post every sample.
 */
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, intervalMs } = workerData;
const samples = [];
const inFlight = [];
const probe = () => {
  const at = performance.timeOrigin + performance.now();
  const t0 = performance.now();
  const done = (status) => samples.push({ at, ms: performance.now() - t0, status });
  inFlight.push(
    fetch(url, { signal: AbortSignal.timeout(10000) }).then(
      async (res) => { await res.arrayBuffer(); done(res.status); },
      (err) => done(String(err && err.name)),
    ),
  );
};
probe();
const timer = setInterval(probe, intervalMs);
parentPort.once('message', () => {
  clearInterval(timer);
  Promise.all(inFlight).then(() => parentPort.postMessage(samples));
});
`;

interface ProbeSample {
  at: number;
  ms: number;
  /** The HTTP status, or the error's name. */
  status: number | string;
}

/** Starts probing `url`; the returned function stops and resolves the samples. */
function startProber(url: string): () => Promise<ProbeSample[]> {
  const worker = new Worker(PROBER, {
    eval: true,
    workerData: { url, intervalMs: PROBE_INTERVAL_MS },
  });
  return stopAndCollect<ProbeSample[]>(worker);
}

function connectWithKey(url: string, token: string): Promise<Socket> {
  const socket = io(`${url}${WS_NAMESPACE}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token },
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

type CreateAck =
  { ok: true; session: { id: string } } | { ok: false; error: { code: string; message: string } };

interface Probed {
  probes: ProbeSample[];
  lag: LagStats;
}

interface Burst extends Probed {
  admitted: string[];
  refusedRateLimited: number;
  /** Other refusals (or ack timeouts), by code. */
  otherErrors: Record<string, number>;
  /** From the first create sent to the last. */
  sendSpreadMs: number;
  /** From the first create sent to the last ack. */
  answeredMs: number;
  admittedAckMs: number[];
  refusedAckMs: number[];
}

/** `creates` session:create from one socket, in SLICES slices over one second, while probing. */
async function burstWindow(
  server: ServerUnderTest,
  socket: Socket,
  creates: number,
): Promise<Burst> {
  await server.resetLag();
  const stop = startProber(`${server.url}/health/live`);
  const start = now();
  const pending: Promise<void>[] = [];
  const admitted: string[] = [];
  const otherErrors: Record<string, number> = {};
  const admittedAckMs: number[] = [];
  const refusedAckMs: number[] = [];
  let refusedRateLimited = 0;
  let lastSent = start;
  const perSlice = Math.ceil(creates / SLICES);
  for (let slice = 0, sent = 0; sent < creates; slice++) {
    const wait = start + (slice * 1000) / SLICES - now();
    if (wait > 0) await sleep(wait);
    for (let k = 0; k < perSlice && sent < creates; k++, sent++) {
      const sentAt = now();
      lastSent = sentAt;
      const ack = socket
        .timeout(30_000)
        .emitWithAck(WsClientEvents.create, CREATE) as Promise<CreateAck>;
      pending.push(
        ack.then(
          (answer) => {
            const ms = now() - sentAt;
            if (answer.ok) {
              admitted.push(answer.session.id);
              admittedAckMs.push(ms);
            } else if (answer.error.code === 'RATE_LIMITED') {
              refusedRateLimited++;
              refusedAckMs.push(ms);
            } else otherErrors[answer.error.code] = (otherErrors[answer.error.code] ?? 0) + 1;
          },
          () => {
            otherErrors.NO_ACK = (otherErrors.NO_ACK ?? 0) + 1;
          },
        ),
      );
    }
  }
  await Promise.all(pending);
  const answeredMs = now() - start;
  const probes = await stop();
  const lag = await server.lag();
  return {
    probes,
    lag,
    admitted,
    refusedRateLimited,
    otherErrors,
    sendSpreadMs: lastSent - start,
    answeredMs,
    admittedAckMs,
    refusedAckMs,
  };
}

/** The same probes with the server idle, for `ms`. */
async function idleWindow(server: ServerUnderTest, ms: number): Promise<Probed> {
  await server.resetLag();
  const stop = startProber(`${server.url}/health/live`);
  await sleep(ms);
  const probes = await stop();
  return { probes, lag: await server.lag() };
}

/** Terminates `ids` with the admin key, waiting out its own limit when it is reached. */
async function terminateAll(socket: Socket, ids: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const sessionId of ids) {
    for (;;) {
      const ack = (await socket
        .timeout(30_000)
        .emitWithAck(WsClientEvents.terminate, { sessionId })) as CreateAck;
      if (ack.ok) break;
      if (ack.error.code !== 'RATE_LIMITED' || Date.now() > deadline)
        throw new Error(`terminate ${sessionId}: ${ack.error.code} ${ack.error.message}`);
      await sleep(100);
    }
  }
}

/**
 * A burst from one key: a Jelmore server with API keys and the default per-key limits (600 events a
 * minute, 60 at once), one socket with one key firing `creates` session:create (tiny scripted turns)
 * within one second, while a prober GETs /health/live every 20 ms. How many are admitted (≈ the bucket
 * plus the steady rate over the burst) and how fast the probes answer, against the same probes with the
 * same server idle (the baseline column). Each round uses a fresh key, so its bucket starts full.
 */
export async function burst(ctx: BenchContext): Promise<Measured> {
  const size = ctx.quick
    ? { creates: 200, rounds: 1, idleMs: 1000 }
    : { creates: 1000, rounds: 3, idleMs: 1500 };
  const ids = Array.from({ length: size.rounds }, (_, r) => `burst${r}`);
  const env = {
    JELMORE_API_KEYS: [
      ...ids.map((id) => `${id}:${keyOf(id)}`),
      `${ADMIN}:${keyOf(ADMIN)}:admin`,
    ].join(','),
    JELMORE_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE),
    JELMORE_RATE_LIMIT_BURST: String(BURST),
  };
  const { idle, bursts } = await withServer(
    ctx,
    'jelmore',
    async (server) => {
      const admin = await connectWithKey(server.url, keyOf(ADMIN));
      const idle: Probed[] = [];
      const bursts: Burst[] = [];
      try {
        // Warm-up: the prober's connection, the server's first requests and creates.
        await idleWindow(server, 300);
        for (const id of ids) {
          idle.push(await idleWindow(server, size.idleMs));
          const socket = await connectWithKey(server.url, keyOf(id));
          try {
            const b = await profiled(ctx, server, 'burst', () =>
              burstWindow(server, socket, size.creates),
            );
            bursts.push(b);
            const i = idle[idle.length - 1];
            ctx.log(
              `  ${id}: ${b.admitted.length} admitted, ${b.refusedRateLimited} RATE_LIMITED${Object.keys(b.otherErrors).length ? `, other ${JSON.stringify(b.otherErrors)}` : ''} (sent over ${b.sendSpreadMs.toFixed(0)} ms, all answered in ${b.answeredMs.toFixed(0)} ms); /health/live p99 ${p(b.probes, 99).toFixed(1)} ms, max ${p(b.probes, 100).toFixed(1)} ms during it, answers ${JSON.stringify(statuses(b.probes))} (idle: p99 ${p(i.probes, 99).toFixed(1)} ms, ${JSON.stringify(statuses(i.probes))}); event-loop delay p99 ${b.lag.p99Ms.toFixed(1)} ms, max ${b.lag.maxMs.toFixed(1)} ms (idle ${i.lag.p99Ms.toFixed(1)} ms)`,
            );
            await terminateAll(admin, b.admitted);
          } finally {
            socket.disconnect();
          }
        }
      } finally {
        admin.disconnect();
      }
      return { idle, bursts };
    },
    env,
  );

  const allIdle = idle.flatMap((w) => w.probes);
  const allBurst = bursts.flatMap((b) => b.probes);
  const notOk = (samples: ProbeSample[]) => samples.filter((s) => s.status !== 200).length;
  const refusedProbes = metric(
    '/health/live answers not 200',
    'probes',
    notOk(allIdle),
    notOk(allBurst),
    {
      text: '0 (probes are not rate limited)',
      meets: notOk(allBurst) === 0 && notOk(allIdle) === 0,
    },
  );
  const admitted = median(bursts.map((b) => b.admitted.length));
  const spreadS = median(bursts.map((b) => b.sendSpreadMs)) / 1000;
  const expected = BURST + (PER_MINUTE / 60) * spreadS;
  const burstP99 = p(allBurst, 99);
  const lagOf = (list: Probed[], key: 'p99Ms' | 'maxMs') => median(list.map((w) => w.lag[key]));
  return {
    metrics: [
      metric('/health/live p99, idle → burst', 'ms', p(allIdle, 99), burstP99, {
        text: `≤ ${PROBE_TARGET_MS} ms during the burst`,
        meets: burstP99 <= PROBE_TARGET_MS,
      }),
      metric('/health/live p50', 'ms', p(allIdle, 50), p(allBurst, 50)),
      metric('/health/live max', 'ms', p(allIdle, 100), p(allBurst, 100)),
      refusedProbes.baseline === 0 && refusedProbes.jelmore === 0
        ? { ...refusedProbes, ratio: 1 }
        : refusedProbes,
      metric('event-loop delay p99', 'ms', lagOf(idle, 'p99Ms'), lagOf(bursts, 'p99Ms')),
      metric('event-loop delay max', 'ms', lagOf(idle, 'maxMs'), lagOf(bursts, 'maxMs')),
      metric(
        `creates admitted of ${size.creates} (expected: ${BURST} + ${PER_MINUTE / 60}/s × ${spreadS.toFixed(2)} s)`,
        'sessions',
        expected,
        admitted,
        {
          text: `within ±${Math.max(5, Math.round(expected / 10))} of expected`,
          meets: Math.abs(admitted - expected) <= Math.max(5, expected / 10),
        },
      ),
    ],
    runs: {
      baseline: idle.map((w) => p(w.probes, 99)),
      jelmore: bursts.map((b) => p(b.probes, 99)),
    },
    noise: {
      baseline: spread(idle.map((w) => p(w.probes, 99))),
      jelmore: spread(bursts.map((b) => p(b.probes, 99))),
    },
    details: {
      ...size,
      perMinute: PER_MINUTE,
      burst: BURST,
      probeIntervalMs: PROBE_INTERVAL_MS,
      baseline: 'the same server idle, probed the same way just before each burst',
      probes: { idle: statuses(allIdle), burst: statuses(allBurst) },
      rounds: bursts.map((b, r) => ({
        admitted: b.admitted.length,
        refusedRateLimited: b.refusedRateLimited,
        otherErrors: b.otherErrors,
        sendSpreadMs: b.sendSpreadMs,
        answeredMs: b.answeredMs,
        admittedAckP50Ms: percentile(b.admittedAckMs, 50),
        admittedAckP99Ms: percentile(b.admittedAckMs, 99),
        refusedAckP50Ms: percentile(b.refusedAckMs, 50),
        refusedAckP99Ms: percentile(b.refusedAckMs, 99),
        probeP50Ms: p(b.probes, 50),
        probeP99Ms: p(b.probes, 99),
        probeMaxMs: p(b.probes, 100),
        lag: b.lag,
        idle: {
          probeP50Ms: p(idle[r].probes, 50),
          probeP99Ms: p(idle[r].probes, 99),
          lag: idle[r].lag,
        },
      })),
    },
  };
}

/** The q-th percentile of the probes' latencies (100: the slowest). */
function p(samples: ProbeSample[], q: number): number {
  return percentile(
    samples.map((s) => s.ms),
    q,
  );
}

/** How many probes got each answer (HTTP status, or the error's name). */
function statuses(samples: ProbeSample[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of samples) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return counts;
}
