import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { round } from './stats';

export const BENCHMARKS = [
  'throughput',
  'latency',
  'concurrency',
  'startup',
  'warm-start',
  'sandbox',
  'rest',
  'attachments',
  'checkpoint',
  'delegation',
  'burst',
  'saturation',
  'artillery',
  'acp',
] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
}

/** One measured figure, baseline against Jelmore. */
export interface Metric {
  metric: string;
  unit: string;
  baseline: number;
  jelmore: number;
  /** jelmore / baseline. */
  ratio: number;
  /** What the issue asks of this figure, in words; absent when it asks nothing. */
  target?: string;
  meets?: boolean;
}

/**
 * bench/results/<name>.json. The top-level figures are the headline metric (the first of `metrics`);
 * `meets` holds when every targeted metric meets its target (null when none has a target).
 */
export interface BenchResult {
  name: BenchmarkName;
  unit: string;
  baseline: number;
  jelmore: number;
  ratio: number;
  target: string | null;
  meets: boolean | null;
  machine: Machine;
  at: string;
  quick: boolean;
  /** 1-minute load average before and after the benchmark (the machine is shared). */
  load: { before: number; after: number };
  /** Every figure, headline first. */
  metrics: Metric[];
  /** The headline figure of each repetition, per side, and (max − min) / median of them. */
  runs: { baseline: number[]; jelmore: number[] };
  noise: { baseline: number; jelmore: number };
  /** What was run (sizes, rates) and any extra figures. */
  details: Record<string, unknown>;
}

export type Measured = Omit<
  BenchResult,
  | 'name'
  | 'unit'
  | 'baseline'
  | 'jelmore'
  | 'ratio'
  | 'target'
  | 'meets'
  | 'machine'
  | 'at'
  | 'quick'
  | 'load'
>;

export function machine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: round(totalmem() / 2 ** 30, 3),
    os: `${type()} ${release()}`,
    node: process.version,
  };
}

export function load1(): number {
  return round(loadavg()[0], 2);
}

export function metric(
  name: string,
  unit: string,
  baseline: number,
  jelmore: number,
  target?: { text: string; meets: boolean },
): Metric {
  return {
    metric: name,
    unit,
    baseline: round(baseline),
    jelmore: round(jelmore),
    ratio: round(jelmore / baseline),
    ...(target ? { target: target.text, meets: target.meets } : {}),
  };
}

export function finish(
  name: BenchmarkName,
  measured: Measured,
  context: { quick: boolean; loadBefore: number },
): BenchResult {
  const [head] = measured.metrics;
  const targeted = measured.metrics.filter((m) => m.target !== undefined);
  return {
    name,
    unit: head.unit,
    baseline: head.baseline,
    jelmore: head.jelmore,
    ratio: head.ratio,
    target: targeted.length ? targeted.map((m) => `${m.metric}: ${m.target}`).join('; ') : null,
    meets: targeted.length ? targeted.every((m) => m.meets) : null,
    machine: machine(),
    at: new Date().toISOString(),
    quick: context.quick,
    load: { before: context.loadBefore, after: load1() },
    ...measured,
    runs: {
      baseline: measured.runs.baseline.map((v) => round(v)),
      jelmore: measured.runs.jelmore.map((v) => round(v)),
    },
    noise: {
      baseline: round(measured.noise.baseline, 2),
      jelmore: round(measured.noise.jelmore, 2),
    },
  };
}

export function write(dir: string, result: BenchResult): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${result.name}.json`);
  writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
  return path;
}

const HEADER = ['benchmark', 'metric', 'unit', 'baseline', 'jelmore', 'ratio', 'target', 'meets'];

function rows(results: BenchResult[]): string[][] {
  return results.flatMap((r) =>
    r.metrics.map((m, i) => [
      i === 0 ? r.name : '',
      m.metric,
      m.unit,
      String(m.baseline),
      String(m.jelmore),
      `${m.ratio}×`,
      m.target ?? '',
      m.meets === undefined ? '' : m.meets ? 'yes' : 'NO',
    ]),
  );
}

/** A plain-text table for the terminal. */
export function textTable(results: BenchResult[]): string {
  const all = [HEADER, ...rows(results)];
  const widths = HEADER.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  return all
    .map((row) =>
      row
        .map((cell, c) => cell.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The same table in Markdown, for the README. */
export function markdownTable(results: BenchResult[]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(HEADER), line(HEADER.map(() => '---')), ...rows(results).map(line)].join('\n');
}
