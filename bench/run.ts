/**
 * `npm run bench [-- options]`: each benchmark runs Jelmore and its raw baseline in the same run and
 * writes bench/results/<name>.json, then a table of all of them (also bench/results/table.md).
 *   --quick          seconds, not minutes: proves the benchmarks still run (CI); results go to results/quick;
 *                    leaves out acp (real agent CLIs, half a minute even at one session a route) and
 *                    artillery (an outside load generator's runs of seconds each) unless --only names them
 *   --only a,b       run only these (throughput, latency, concurrency, startup, warm-start, sandbox, rest,
 *                    attachments, checkpoint, delegation, burst, saturation, artillery,
 *                    acp)
 *   --pin            servers on CPU 0, this runner (the clients) on the others
 *   --profile        CPU profiles of each server over each measured window, in results/profiles
 *   --heap-profile   concurrency: a sampling heap profile of each server (what is alive mid-stream);
 *                    with --allocations, everything allocated until then
 *   --node-options "<flags>"  extra node flags for both servers
 *   --dist <dir>     measure another build of the server (e.g. with a proposed change) instead of dist/
 *   --out <dir>      write the results there instead of bench/results
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { acp } from './benchmarks/acp';
import { artillery } from './benchmarks/artillery';
import { attachments } from './benchmarks/attachments';
import { burst } from './benchmarks/burst';
import { checkpoint } from './benchmarks/checkpoint';
import { concurrency } from './benchmarks/concurrency';
import { delegation } from './benchmarks/delegation';
import { latency } from './benchmarks/latency';
import { rest } from './benchmarks/rest';
import { startup } from './benchmarks/startup';
import { throughput } from './benchmarks/throughput';
import { sandbox } from './benchmarks/sandbox';
import { saturation } from './benchmarks/saturation';
import { warmStart } from './benchmarks/warm-start';
import type { BenchContext } from './support/context';
import {
  BenchmarkName,
  BenchResult,
  BENCHMARKS,
  finish,
  load1,
  machine,
  markdownTable,
  Measured,
  textTable,
  write,
} from './support/results';
import { ServerBuild } from './support/servers';

const RUNS: Record<BenchmarkName, (ctx: BenchContext) => Promise<Measured>> = {
  throughput,
  latency,
  concurrency,
  startup,
  'warm-start': warmStart,
  sandbox,
  rest,
  attachments,
  checkpoint,
  delegation,
  burst,
  saturation,
  artillery,
  acp,
};

/**
 * Too slow for --quick's seconds: run only when --only names them. acp drives real agent CLIs; artillery
 * runs an outside load generator whose CLI alone takes about a second to start, and whose every run lasts
 * its arrival phase plus a session's length: a quarter of a minute at the least for its four runs.
 */
const NOT_QUICK: BenchmarkName[] = ['acp', 'artillery'];

/** bench/results in the repository (this file runs from <repo>/node_modules/.cache/jelmore-bench/bench). */
const RESULTS = join(__dirname, '..', '..', '..', '..', 'bench', 'results');

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only =
    option(args, '--only')?.split(',') ??
    BENCHMARKS.filter((n) => !(quick && (NOT_QUICK as readonly string[]).includes(n)));
  const unknown = only.filter((n) => !(BENCHMARKS as readonly string[]).includes(n));
  if (unknown.length)
    throw new Error(`Unknown benchmark ${unknown.join(', ')}: ${BENCHMARKS.join(', ')}`);
  const out = option(args, '--out') ?? (quick ? join(RESULTS, 'quick') : RESULTS);
  const pin = args.includes('--pin') && cpus().length > 1;
  if (pin) execFileSync('taskset', ['-pc', `1-${cpus().length - 1}`, String(process.pid)]);
  const profileDir = args.includes('--profile') ? join(out, 'profiles') : undefined;
  const heapProfileDir = args.includes('--heap-profile') ? join(out, 'profiles') : undefined;
  for (const dir of [profileDir, heapProfileDir]) if (dir) mkdirSync(dir, { recursive: true });

  const m = machine();
  console.log(
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, node ${m.node}; load ${load1()}${quick ? '; quick mode' : ''}${pin ? '; servers pinned to CPU 0' : ''}`,
  );
  const dist = option(args, '--dist');
  const build = new ServerBuild(dist && resolve(dist));
  const ctx: BenchContext = {
    quick,
    build,
    serverCpus: pin ? '0' : undefined,
    profileDir,
    heapProfileDir,
    heapAllocations: args.includes('--allocations'),
    nodeArgs: option(args, '--node-options')?.split(' ').filter(Boolean),
    resultsDir: out,
    log: (line) => console.log(line),
  };
  const results: BenchResult[] = [];
  try {
    for (const name of BENCHMARKS.filter((n) => only.includes(n))) {
      const loadBefore = load1();
      const started = Date.now();
      console.log(`${name} (load ${loadBefore})`);
      const result = finish(name, await RUNS[name](ctx), { quick, loadBefore });
      results.push(result);
      console.log(`  → ${write(out, result)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    build.dispose();
  }
  console.log(`\n${textTable(results)}`);
  writeFileSync(join(out, 'table.md'), `${markdownTable(results)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
