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
import { memoryMiB, resetPeak, RssSampler } from '../support/proc';
import { Measured, metric } from '../support/results';
import type { LagStats } from '../support/probe';
import type { ServerUnderTest, Side } from '../support/servers';
import { median, spread } from '../support/stats';

const RSS_TARGET_MIB = 300;
const LAG_TARGET_MS = 50;

interface Outcome {
  idleRssMiB: number;
  peakRssMiB: number;
  lag: LagStats;
  prometheusLagP99Ms?: number;
  seconds: number;
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
    ? { sessions: 20, rate: 10, seconds: 1, bytes: 100, rounds: 1 }
    : { sessions: 1000, rate: 10, seconds: 15, bytes: 100, rounds: 2 };
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
      const idleRssMiB = memoryMiB(server.pid).rss;
      resetPeak(server.pid);
      await server.resetLag();
      if (server.side === 'jelmore') await server.prometheusLagP99Ms(); // Starts its window too.
      const sampler = new RssSampler(server.pid);
      const t0 = Date.now();
      await profiled(ctx, server, 'concurrency', async () => {
        await inBatches(ids, 200, (id, i) => input(sockets[i], id, turn));
        await Promise.all(watchers.map((w) => w.done));
      });
      const seconds = (Date.now() - t0) / 1000;
      const peakRssMiB = Math.max(sampler.stop(), memoryMiB(server.pid).peak);
      const lag = await server.lag();
      const prometheusLagP99Ms =
        server.side === 'jelmore' ? await server.prometheusLagP99Ms() : undefined;
      return { idleRssMiB, peakRssMiB, lag, prometheusLagP99Ms, seconds };
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
      ctx.log(
        `  ${side}: RSS ${o.idleRssMiB.toFixed(0)} MiB idle, ${o.peakRssMiB.toFixed(0)} MiB peak; event-loop lag p99 ${o.lag.p99Ms.toFixed(1)} ms, max ${o.lag.maxMs.toFixed(1)} ms; GC ${o.lag.gc.count}× ${o.lag.gc.totalMs.toFixed(0)} ms (major ${o.lag.gc.byKind.major?.count ?? 0}×, max ${o.lag.gc.maxMs.toFixed(1)} ms); ${o.seconds.toFixed(1)} s`,
      );
    }
  }
  const summary = (side: Side) => {
    const list = outcomes[side];
    return {
      peakRssMiB: median(list.map((o) => o.peakRssMiB)),
      idleRssMiB: median(list.map((o) => o.idleRssMiB)),
      lagP99Ms: median(list.map((o) => o.lag.p99Ms)),
      lagMaxMs: Math.max(...list.map((o) => o.lag.maxMs)),
    };
  };
  const baseline = summary('baseline');
  const jelmore = summary('jelmore');
  return {
    metrics: [
      metric('peak RSS', 'MiB', baseline.peakRssMiB, jelmore.peakRssMiB, {
        text: `≤ ${RSS_TARGET_MIB} MiB`,
        meets: jelmore.peakRssMiB <= RSS_TARGET_MIB,
      }),
      metric('event-loop lag p99', 'ms', baseline.lagP99Ms, jelmore.lagP99Ms, {
        text: `≤ ${LAG_TARGET_MS} ms`,
        meets: jelmore.lagP99Ms <= LAG_TARGET_MS,
      }),
      metric('RSS with the sessions idle', 'MiB', baseline.idleRssMiB, jelmore.idleRssMiB),
      metric('event-loop lag max', 'ms', baseline.lagMaxMs, jelmore.lagMaxMs),
    ],
    runs: {
      baseline: outcomes.baseline.map((o) => o.peakRssMiB),
      jelmore: outcomes.jelmore.map((o) => o.peakRssMiB),
    },
    noise: {
      baseline: spread(outcomes.baseline.map((o) => o.peakRssMiB)),
      jelmore: spread(outcomes.jelmore.map((o) => o.peakRssMiB)),
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
      lag: {
        baseline: outcomes.baseline.map((o) => o.lag),
        jelmore: outcomes.jelmore.map((o) => o.lag),
      },
      seconds: {
        baseline: outcomes.baseline.map((o) => o.seconds),
        jelmore: outcomes.jelmore.map((o) => o.seconds),
      },
    },
  };
}
