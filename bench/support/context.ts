import { join } from 'node:path';
import { ServerBuild, ServerUnderTest, Side } from './servers';

export interface BenchContext {
  quick: boolean;
  build: ServerBuild;
  /** CPUs for the servers (taskset), when pinning; the runner then keeps to the others. */
  serverCpus?: string;
  /** Extra node flags for both servers. */
  nodeArgs?: string[];
  /** Where to write CPU profiles of the measured windows; no profiling when absent. */
  profileDir?: string;
  /** Where to write heap profiles (what is alive mid-run), for the benchmarks that take them. */
  heapProfileDir?: string;
  /** Heap profiles count every allocation, not only what is alive at the end. */
  heapAllocations?: boolean;
  /** Where this run writes its results (bench/results, or results/quick); for files beside the JSON. */
  resultsDir: string;
  log: (line: string) => void;
}

/**
 * Starts a fresh server of one side, runs `body`, and stops it however it ends. `env`: extra environment
 * for the server, over the benchmark defaults (ServerUnderTest.start).
 */
export async function withServer<T>(
  ctx: BenchContext,
  side: Side,
  body: (server: ServerUnderTest) => Promise<T>,
  env?: Record<string, string>,
): Promise<T> {
  const options = { cpus: ctx.serverCpus, nodeArgs: ctx.nodeArgs, env };
  const server =
    side === 'baseline'
      ? ServerUnderTest.baseline(options)
      : ServerUnderTest.jelmore(ctx.build, options);
  try {
    await server.start();
    return await body(server);
  } finally {
    await server.stop();
  }
}

/**
 * Starts a fresh bare server and a fresh Jelmore, runs `body`, and stops both however it ends.
 * `jelmoreEnv`: extra environment for Jelmore only, over the benchmark defaults.
 */
export async function withServers<T>(
  ctx: BenchContext,
  body: (servers: Record<Side, ServerUnderTest>) => Promise<T>,
  jelmoreEnv?: Record<string, string>,
): Promise<T> {
  const options = { cpus: ctx.serverCpus, nodeArgs: ctx.nodeArgs };
  const servers = {
    baseline: ServerUnderTest.baseline(options),
    jelmore: ServerUnderTest.jelmore(ctx.build, { ...options, env: jelmoreEnv }),
  };
  try {
    await Promise.all([servers.baseline.start(), servers.jelmore.start()]);
    return await body(servers);
  } finally {
    await Promise.all([servers.baseline.stop(), servers.jelmore.stop()]);
  }
}

/**
 * Runs `measure` with a CPU profile of the server around it when profiling is on, saved as
 * <profileDir>/<name>-<side>.cpuprofile (the last repetition's profile wins).
 */
export async function profiled<T>(
  ctx: BenchContext,
  server: ServerUnderTest,
  name: string,
  measure: () => Promise<T>,
): Promise<T> {
  if (!ctx.profileDir) return measure();
  await server.startProfile();
  try {
    return await measure();
  } finally {
    await server.stopProfile(join(ctx.profileDir, `${name}-${server.side}.cpuprofile`));
  }
}

/** The sides in the order of repetition `round`, alternating so drift in load hits both alike. */
export function sidesFor(round: number): Side[] {
  return round % 2 === 0 ? ['baseline', 'jelmore'] : ['jelmore', 'baseline'];
}
