import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import {
  closeAll,
  connectMany,
  createSession,
  input,
  onEvents,
  subscribe,
  TurnWatcher,
} from '../support/client';
import { BenchContext, profiled, sidesFor, withServer } from '../support/context';
import { cpuSeconds, memoryMB, PeakSampler, resetPeak } from '../support/proc';
import { Measured, metric } from '../support/results';
import type { LagStats } from '../support/probe';
import type { ServerUnderTest, Side } from '../support/servers';
import { median, spread } from '../support/stats';

const RSS_TARGET_MB = 250;
const LAG_TARGET_MS = 50;
/** P15: server CPU per event at most this many times the bare server's. */
const CPU_TARGET_RATIO = 1.3;

interface Outcome {
  idleRssMB: number;
  peakRssMB: number;
  /** From the first input until a second after the last turn started. */
  startLag: LagStats;
  /** From then until every turn ended: the sessions streaming. */
  lag: LagStats;
  prometheusLagP99Ms?: number;
  seconds: number;
  /** Server CPU time (user + system) per event streamed. */
  cpuUsPerEvent: number;
  /** Jelmore: the largest its SQLite WAL file grew while the sessions streamed. */
  walPeakMB?: number;
}

/** Runs `fn` over `items`, `parallel` at a time. */
async function inBatches<T, R>(
  items: T[],
  parallel: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += parallel) {
    out.push(
      ...(await Promise.all(items.slice(i, i + parallel).map((item, j) => fn(item, i + j)))),
    );
  }
  return out;
}

/**
 * Concurrency: many sessions streaming at once, each watched by its own connection (in-process scripted
 * agents: a thousand agent processes would measure the machine, not the server). Peak RSS of the server
 * process and the p99 of its event-loop delay while they stream.
 */
export async function concurrency(ctx: BenchContext): Promise<Measured> {
  const size = ctx.quick
    ? { sessions: 20, rate: 10, seconds: 2, bytes: 100, rounds: 1, startPhaseMs: 300 }
    : { sessions: 1000, rate: 10, seconds: 15, bytes: 100, rounds: 2, startPhaseMs: 1000 };
  const events = size.rate * size.seconds;
  const turn = `[[events ${events}]] [[rate ${size.rate}]] [[bytes ${size.bytes}]]`;

  const run = async (server: ServerUnderTest): Promise<Outcome> => {
    const sockets: Socket[] = await connectMany(server.url, size.sessions);
    try {
      const watchers = sockets.map(() => new TurnWatcher(events));
      const ids = await inBatches(sockets, 50, async (socket, i) => {
        const session = await createSession(socket, '[[events 0]]');
        onEvents(socket, (batch) => watchers[i].take(batch));
        await subscribe(socket, session.id);
        return session.id;
      });
      await new Promise((r) => setTimeout(r, 500));
      const idleRssMB = memoryMB(server.pid).rss;
      resetPeak(server.pid);
      await server.resetLag();
      if (server.side === 'jelmore') await server.prometheusLagP99Ms(); // Starts its window too.
      const sampler = new PeakSampler(() => memoryMB(server.pid).rss);
      const walFile = join(server.dir, 'data', 'jelmore.db-wal');
      const walSampler =
        server.side === 'jelmore'
          ? new PeakSampler(() => statSync(walFile).size / 1e6, 200)
          : undefined;
      const cpu0 = cpuSeconds(server.pid);
      const t0 = Date.now();
      let startLag!: LagStats;
      const heapProfile =
        ctx.heapProfileDir && join(ctx.heapProfileDir, `concurrency-${server.side}.heapprofile`);
      if (heapProfile) {
        await server.startHeapProfile(ctx.heapAllocations);
        setTimeout(
          () => void server.stopHeapProfile(heapProfile),
          size.startPhaseMs + (size.seconds * 1000) / 2,
        );
      }
      await profiled(ctx, server, 'concurrency', async () => {
        await inBatches(ids, 200, (id, i) => input(sockets[i], id, turn));
        await new Promise((r) => setTimeout(r, size.startPhaseMs));
        startLag = await server.lag();
        await server.resetLag();
        await Promise.all(watchers.map((w) => w.done));
      });
      const seconds = (Date.now() - t0) / 1000;
      const cpuUsPerEvent = ((cpuSeconds(server.pid) - cpu0) * 1e6) / (events * size.sessions);
      const peakRssMB = Math.max(sampler.stop(), memoryMB(server.pid).peak);
      const walPeakMB = walSampler?.stop();
      const lag = await server.lag();
      const prometheusLagP99Ms =
        server.side === 'jelmore' ? await server.prometheusLagP99Ms() : undefined;
      return {
        idleRssMB,
        peakRssMB,
        startLag,
        lag,
        prometheusLagP99Ms,
        seconds,
        cpuUsPerEvent,
        walPeakMB,
      };
    } finally {
      closeAll(sockets);
    }
  };

  // One server at a time: each gets the machine to itself, and the sessions are the load.
  const outcomes: Record<Side, Outcome[]> = { baseline: [], jelmore: [] };
  for (let r = 0; r < size.rounds; r++) {
    for (const side of sidesFor(r)) {
      const o = await withServer(ctx, side, run);
      outcomes[side].push(o);
      const gc = o.lag.gc;
      ctx.log(
        `  ${side}: RSS ${o.idleRssMB.toFixed(0)} MB idle, ${o.peakRssMB.toFixed(0)} MB peak (heap ${o.lag.peakHeapUsedMiB.toFixed(0)} MiB); event-loop lag p99 ${o.startLag.p99Ms.toFixed(1)} ms as turns start, then p99 ${o.lag.p99Ms.toFixed(1)} ms, max ${o.lag.maxMs.toFixed(1)} ms; GC ${gc.count}× ${gc.totalMs.toFixed(0)} ms (major ${gc.byKind.major?.count ?? 0}×, max ${gc.maxMs.toFixed(1)} ms); ${o.cpuUsPerEvent.toFixed(1)} µs CPU/event; ${o.seconds.toFixed(1)} s${o.walPeakMB === undefined ? '' : `; WAL ≤ ${o.walPeakMB.toFixed(0)} MB`}`,
      );
    }
  }
  const summary = (side: Side) => {
    const list = outcomes[side];
    return {
      peakRssMB: median(list.map((o) => o.peakRssMB)),
      idleRssMB: median(list.map((o) => o.idleRssMB)),
      lagP99Ms: median(list.map((o) => o.lag.p99Ms)),
      lagMaxMs: Math.max(...list.map((o) => o.lag.maxMs)),
      startLagP99Ms: median(list.map((o) => o.startLag.p99Ms)),
      peakHeapUsedMiB: median(list.map((o) => o.lag.peakHeapUsedMiB)),
      cpuUsPerEvent: median(list.map((o) => o.cpuUsPerEvent)),
    };
  };
  const baseline = summary('baseline');
  const jelmore = summary('jelmore');
  return {
    metrics: [
      metric('peak RSS', 'MB', baseline.peakRssMB, jelmore.peakRssMB, {
        text: `≤ ${RSS_TARGET_MB} MB`,
        meets: jelmore.peakRssMB <= RSS_TARGET_MB,
      }),
      metric('event-loop lag p99, streaming', 'ms', baseline.lagP99Ms, jelmore.lagP99Ms, {
        text: `≤ ${LAG_TARGET_MS} ms`,
        meets: jelmore.lagP99Ms <= LAG_TARGET_MS,
      }),
      metric('event-loop lag max, streaming', 'ms', baseline.lagMaxMs, jelmore.lagMaxMs),
      metric(
        `event-loop lag p99, ${size.sessions} turns starting at once (first ${size.startPhaseMs / 1000} s)`,
        'ms',
        baseline.startLagP99Ms,
        jelmore.startLagP99Ms,
      ),
      metric('server CPU per event', 'µs', baseline.cpuUsPerEvent, jelmore.cpuUsPerEvent, {
        text: `≤ ${CPU_TARGET_RATIO}× baseline`,
        meets: jelmore.cpuUsPerEvent <= CPU_TARGET_RATIO * baseline.cpuUsPerEvent,
      }),
      metric('RSS with the sessions idle', 'MB', baseline.idleRssMB, jelmore.idleRssMB),
      metric('peak heap used, streaming', 'MiB', baseline.peakHeapUsedMiB, jelmore.peakHeapUsedMiB),
    ],
    runs: {
      baseline: outcomes.baseline.map((o) => o.peakRssMB),
      jelmore: outcomes.jelmore.map((o) => o.peakRssMB),
    },
    noise: {
      baseline: spread(outcomes.baseline.map((o) => o.peakRssMB)),
      jelmore: spread(outcomes.jelmore.map((o) => o.peakRssMB)),
    },
    details: {
      ...size,
      eventsPerSecond: size.sessions * size.rate,
      agent: 'scripted (in-process)',
      lagMeasuredBy:
        'perf_hooks.monitorEventLoopDelay (10 ms timer) preloaded into each server, less the 10 ms interval',
      prometheusNote:
        'jelmore_nodejs_eventloop_lag_p99_seconds over the same window; prom-client leaves the 10 ms interval in',
      jelmorePrometheusLagP99Ms: outcomes.jelmore.map((o) => o.prometheusLagP99Ms),
      jelmoreWalPeakMB: outcomes.jelmore.map((o) => o.walPeakMB),
      lag: {
        baseline: outcomes.baseline.map((o) => o.lag),
        jelmore: outcomes.jelmore.map((o) => o.lag),
      },
      startLag: {
        baseline: outcomes.baseline.map((o) => o.startLag),
        jelmore: outcomes.jelmore.map((o) => o.startLag),
      },
      seconds: {
        baseline: outcomes.baseline.map((o) => o.seconds),
        jelmore: outcomes.jelmore.map((o) => o.seconds),
      },
    },
  };
}
