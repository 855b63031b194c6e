/**
 * Preloaded into each server under test (`node -r probe.js`), Jelmore and the bare baseline alike, so
 * both are measured the same way. Answers the runner over the IPC channel: event-loop delay (reset,
 * read) and a V8 CPU profile of a chosen window (what `--cpu-prof` records, without waiting for exit).
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

export type ProbeRequest =
  | { id: number; type: 'lag:reset' }
  | { id: number; type: 'lag' }
  | { id: number; type: 'profile:start' }
  | { id: number; type: 'profile:stop'; path: string }
  | { id: number; type: 'heap:start'; allocations?: boolean }
  | { id: number; type: 'heap:stop'; path: string };

export interface LagStats {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  samples: number;
  /** Garbage-collection pauses in the same window. */
  gc: GcStats;
  /** The largest heap and off-heap (Buffers, socket writes) use seen in the window, sampled every 50 ms. */
  peakHeapUsedMiB: number;
  peakExternalMiB: number;
}

/** Pauses by kind (minor: scavenge, major: mark-compact, incremental, weakcb). */
export interface GcStats {
  count: number;
  totalMs: number;
  maxMs: number;
  byKind: Record<string, { count: number; totalMs: number; maxMs: number }>;
}

const GC_KINDS: Record<number, string> = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

// The precision prom-client uses for the nodejs_eventloop_lag_* metrics. Each sample is the time between
// two ticks of a timer with this interval, so the interval is taken off to leave the delay.
const RESOLUTION_MS = 10;
const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
histogram.enable();
let inspector: Session | undefined;
let heapInspector: Session | undefined;
const noGc = (): GcStats => ({ count: 0, totalMs: 0, maxMs: 0, byKind: {} });
let gc = noGc();
let peakHeapUsed = 0;
let peakExternal = 0;
setInterval(() => {
  const { heapUsed, external } = process.memoryUsage();
  peakHeapUsed = Math.max(peakHeapUsed, heapUsed);
  peakExternal = Math.max(peakExternal, external);
}, 50).unref();
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const detail = (entry as { detail?: { kind?: number } }).detail;
    const kind = GC_KINDS[detail?.kind ?? 0] ?? 'other';
    const k = (gc.byKind[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
    for (const stats of [gc, k]) {
      stats.count++;
      stats.totalMs += entry.duration;
      stats.maxMs = Math.max(stats.maxMs, entry.duration);
    }
  }
}).observe({ entryTypes: ['gc'] });

function post<T>(method: string, session = inspector, params?: object): Promise<T> {
  return new Promise((resolve, reject) =>
    session!.post(method, params, (err, result) => (err ? reject(err) : resolve(result as T))),
  );
}

async function handle(request: ProbeRequest): Promise<unknown> {
  switch (request.type) {
    case 'lag:reset':
      histogram.reset();
      gc = noGc();
      peakHeapUsed = 0;
      peakExternal = 0;
      return {};
    case 'lag': {
      const ms = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
      const stats: LagStats = {
        p50Ms: ms(histogram.percentile(50)),
        p99Ms: ms(histogram.percentile(99)),
        maxMs: ms(histogram.max),
        meanMs: ms(histogram.mean),
        samples: histogram.count,
        gc,
        peakHeapUsedMiB: peakHeapUsed / 2 ** 20,
        peakExternalMiB: peakExternal / 2 ** 20,
      };
      return stats;
    }
    case 'profile:start':
      inspector = new Session();
      inspector.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
      return {};
    case 'heap:start':
      heapInspector = new Session();
      heapInspector.connect();
      await post('HeapProfiler.enable', heapInspector);
      // One sample per 32 KiB allocated on average. The profile holds what is still alive when it stops,
      // or with `allocations` everything allocated meanwhile (what makes the garbage collector work).
      await post('HeapProfiler.startSampling', heapInspector, {
        samplingInterval: 32768,
        ...(request.allocations
          ? { includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }
          : {}),
      });
      return {};
    case 'heap:stop': {
      const { profile } = await post<{ profile: object }>(
        'HeapProfiler.stopSampling',
        heapInspector,
      );
      heapInspector?.disconnect();
      heapInspector = undefined;
      writeFileSync(request.path, JSON.stringify(profile));
      return { path: request.path };
    }
    case 'profile:stop': {
      const { profile } = await post<{ profile: object }>('Profiler.stop');
      inspector?.disconnect();
      inspector = undefined;
      writeFileSync(request.path, JSON.stringify(profile));
      return { path: request.path };
    }
  }
}

if (process.send) {
  process.on('message', (request: ProbeRequest) => {
    handle(request).then(
      (result) => process.send!({ id: request.id, ok: true, result }),
      (err: unknown) => process.send!({ id: request.id, ok: false, error: String(err) }),
    );
  });
  // The channel alone must not keep a server alive that is shutting down.
  process.channel?.unref();
}
