import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WS_NAMESPACE, WsClientEvents } from '../../libs/contracts/src/ws-protocol';
import { BenchContext, sidesFor, withServer } from '../support/context';
import type { LagStats } from '../support/probe';
import { cpuSeconds } from '../support/proc';
import { Measured, Metric, metric } from '../support/results';
import type { ServerUnderTest, Side } from '../support/servers';

/** The repository (this file runs from <repo>/node_modules/.cache/jelmore-bench/bench/benchmarks). */
const REPO = join(__dirname, '..', '..', '..', '..', '..');
const ARTILLERY = join(REPO, 'node_modules', '.bin', 'artillery');
/** Jelmore runs with this key (not an admin's); the bare server ignores the handshake's auth. */
const API_KEY = 'artillery-bench-key-0123456789';
/** No run may outlast its arrival phase by more than this: an ack that never comes hangs a user. */
const GRACE_MS = 90_000;

interface Size {
  /** New virtual users (sessions) per second, one run per rate and side. */
  rates: number[];
  /** How long users keep arriving. */
  seconds: number;
  /** What each session's agent streams: events of `bytes` at `eventRate` per second. */
  events: number;
  bytes: number;
  eventRate: number;
  /** How long each user stays subscribed before it terminates its session. */
  thinkSeconds: number;
}

/** A distribution as artillery 1.x reports it (ms for times); null fields when it saw no sample. */
interface Distribution {
  min: number | null;
  max: number | null;
  median: number | null;
  p95: number | null;
  p99: number | null;
}

/** The part of artillery's JSON report (`run -o`) read here; the whole report is kept on disk. */
interface ArtilleryReport {
  aggregate: {
    scenariosCreated: number;
    scenariosCompleted: number;
    requestsCompleted: number;
    /** emit → ack, every acked emit (create, subscribe, terminate). */
    latency: Distribution;
    /** A virtual user's whole session: connect to its last ack. */
    scenarioDuration: Distribution;
    /** By error: `Failed match` is an ack with `ok: false`; others are connection errors. */
    errors: Record<string, number>;
    customStats: Record<string, Distribution>;
  };
}

interface Run {
  side: Side;
  rate: number;
  report: ArtilleryReport['aggregate'];
  reportPath: string;
  lag: LagStats;
  serverCpuSeconds: number;
  seconds: number;
}

/**
 * Processor functions of the script (artillery's `config.processor`): time session:create's ack alone
 * (artillery's own latency mixes the three acks) and count the assistant events that reach each user,
 * as Jelmore's `session:events` batches or the bare server's single `session:event`s.
 */
const PROCESSOR = `'use strict';
module.exports = {
  beforeCreate(context, events, done) {
    const seen = (context.jelmoreBench = { t0: process.hrtime.bigint(), events: 0 });
    const socket = context.sockets[${JSON.stringify(WS_NAMESPACE)}];
    socket.on('session:events', (batch) => {
      for (const e of batch) if (e.type === 'assistant') seen.events++;
    });
    socket.on('session:event', (e) => {
      if (e.type === 'assistant') seen.events++;
    });
    done();
  },
  afterCreate(context, events, done) {
    const ms = Number(process.hrtime.bigint() - context.jelmoreBench.t0) / 1e6;
    events.emit('histogram', 'create_ack_ms', ms);
    done();
  },
  afterStream(context, events, done) {
    events.emit('histogram', 'assistant_events', context.jelmoreBench.events);
    done();
  },
};
`;

/** The scenario: connect, create (capturing its id), subscribe, stay `thinkSeconds`, terminate. */
function script(url: string, rate: number, size: Size, processor: string): object {
  const ok = { match: { json: '$.ok', value: true } };
  const emit = (event: string, payload: object, acknowledge: object) => ({
    namespace: WS_NAMESPACE,
    emit: [event, payload],
    acknowledge,
  });
  const query = `[[events ${size.events}]] [[bytes ${size.bytes}]] [[rate ${size.eventRate}]]`;
  return {
    config: {
      target: url,
      phases: [{ duration: size.seconds, arrivalRate: rate }],
      processor,
      engines: {
        'socketio-v3': {
          transports: ['websocket'],
          reconnection: false,
          auth: { token: API_KEY },
        },
      },
    },
    scenarios: [
      {
        name: 'create-subscribe-stream',
        engine: 'socketio-v3',
        flow: [
          { namespace: WS_NAMESPACE, connect: {} },
          { function: 'beforeCreate' },
          emit(
            WsClientEvents.create,
            { provider: 'scripted', model: 'scripted', query },
            { ...ok, capture: { json: '$.session.id', as: 'sessionId' } },
          ),
          { function: 'afterCreate' },
          emit(WsClientEvents.subscribe, { sessionId: '{{ sessionId }}' }, ok),
          { think: size.thinkSeconds },
          emit(WsClientEvents.terminate, { sessionId: '{{ sessionId }}' }, ok),
          { function: 'afterStream' },
        ],
      },
    ],
  };
}

/**
 * Runs artillery's CLI on one server: its own process, an environment with nothing but PATH and a
 * scratch HOME (no telemetry, no update check: every connection it makes is to the server), bounded in
 * time. Returns the JSON report it wrote to `reportPath`.
 */
async function runArtillery(
  server: ServerUnderTest,
  rate: number,
  size: Size,
  reportPath: string,
): Promise<ArtilleryReport> {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-bench-artillery-'));
  try {
    const processor = join(dir, 'processor.js');
    const scriptPath = join(dir, 'script.json');
    writeFileSync(processor, PROCESSOR);
    writeFileSync(scriptPath, JSON.stringify(script(server.url, rate, size, processor), null, 2));
    const child = spawn(
      process.execPath,
      [realpathSync(ARTILLERY), 'run', '--quiet', '--output', reportPath, scriptPath],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          ARTILLERY_DISABLE_TELEMETRY: 'true',
          NO_UPDATE_NOTIFIER: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    for (const stream of [child.stdout, child.stderr])
      stream.on('data', (chunk: Buffer) => (output = (output + String(chunk)).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), size.seconds * 1000 + GRACE_MS);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(timer);
    if (code !== 0) {
      throw new Error(
        `artillery against ${server.side} at ${rate}/s: ${signal ? `killed (${signal}) after ${size.seconds}s + ${GRACE_MS / 1000} s` : `exit ${code}`}\n${output}`,
      );
    }
    return JSON.parse(readFileSync(reportPath, 'utf8')) as ArtilleryReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const failedSessions = (r: Run) => r.report.scenariosCreated - r.report.scenariosCompleted;
const failedAcks = (r: Run) => r.report.errors['Failed match'] ?? 0;
const otherErrors = (r: Run) =>
  Object.entries(r.report.errors).reduce((n, [k, v]) => (k === 'Failed match' ? n : n + v), 0);

/** A count that should stay 0: its ratio is 1 when both are 0 (a plain ratio would be 0/0). */
function zeroMetric(name: string, baseline: number, jelmore: number): Metric {
  const m = metric(name, 'count', baseline, jelmore, { text: '0', meets: jelmore === 0 });
  return baseline === 0 && jelmore === 0 ? { ...m, ratio: 1 } : m;
}

/**
 * An independent check with a load generator the project did not write: artillery 1.x and its
 * Socket.IO v3/v4 engine drive create → subscribe → stream → terminate for virtual users arriving at
 * each rate, against Jelmore and the bare server, one fresh server per run. Artillery's JSON report of
 * each run is kept in <results>/artillery/<side>-<rate>.json.
 */
export async function artillery(ctx: BenchContext): Promise<Measured> {
  const size: Size = ctx.quick
    ? { rates: [2, 5], seconds: 2, events: 50, bytes: 100, eventRate: 100, thinkSeconds: 1 }
    : { rates: [20, 60], seconds: 10, events: 200, bytes: 100, eventRate: 100, thinkSeconds: 2.5 };
  const dir = join(ctx.resultsDir, 'artillery');
  mkdirSync(dir, { recursive: true });
  const runs: Run[] = [];
  for (const [i, rate] of size.rates.entries()) {
    for (const side of sidesFor(i)) {
      const reportPath = join(dir, `${side}-${rate}.json`);
      const env = side === 'jelmore' ? { JELMORE_API_KEYS: `artillery:${API_KEY}` } : undefined;
      const run = await withServer(
        ctx,
        side,
        async (server): Promise<Run> => {
          await server.resetLag();
          const cpu0 = cpuSeconds(server.pid);
          const t0 = Date.now();
          const report = await runArtillery(server, rate, size, reportPath);
          const seconds = (Date.now() - t0) / 1000;
          const serverCpuSeconds = cpuSeconds(server.pid) - cpu0;
          return {
            side,
            rate,
            report: report.aggregate,
            reportPath,
            lag: await server.lag(),
            serverCpuSeconds,
            seconds,
          };
        },
        env,
      );
      runs.push(run);
      const a = run.report;
      const events = a.customStats.assistant_events;
      ctx.log(
        `  ${side} at ${rate}/s: ${a.scenariosCompleted}/${a.scenariosCreated} sessions completed, ${failedAcks(run)} acks not ok, ${otherErrors(run)} other errors; session length p50 ${a.scenarioDuration.median} ms, p95 ${a.scenarioDuration.p95} ms; create ack p95 ${a.customStats.create_ack_ms?.p95} ms; assistant events per session by its terminate: median ${events?.median}, min ${events?.min} (of ${size.events}); event-loop delay p99 ${run.lag.p99Ms.toFixed(1)} ms; server CPU ${run.serverCpuSeconds.toFixed(1)} s; ${run.seconds.toFixed(1)} s`,
      );
    }
  }
  const at = (side: Side, rate: number) => runs.find((r) => r.side === side && r.rate === rate)!;
  const metrics: Metric[] = [];
  // The highest rate first: its p95 session length is the headline.
  for (const rate of [...size.rates].reverse()) {
    const [b, j] = [at('baseline', rate), at('jelmore', rate)];
    const num = (d: Distribution | undefined, key: keyof Distribution) => d?.[key] ?? NaN;
    const pair = (name: string, unit: string, get: (r: Run) => number) =>
      metrics.push(metric(`${name}, ${rate}/s`, unit, get(b), get(j)));
    pair('session length p95', 'ms', (r) => num(r.report.scenarioDuration, 'p95'));
    pair('session length p50', 'ms', (r) => num(r.report.scenarioDuration, 'median'));
    pair('create ack p95', 'ms', (r) => num(r.report.customStats.create_ack_ms, 'p95'));
    pair('ack p95 (create, subscribe, terminate)', 'ms', (r) => num(r.report.latency, 'p95'));
    pair(`events at a user by its terminate, median (of ${size.events})`, 'events', (r) =>
      num(r.report.customStats.assistant_events, 'median'),
    );
    metrics.push(zeroMetric(`failed sessions, ${rate}/s`, failedSessions(b), failedSessions(j)));
    metrics.push(zeroMetric(`acks not ok, ${rate}/s`, failedAcks(b), failedAcks(j)));
    pair('event-loop delay p99', 'ms', (r) => r.lag.p99Ms);
  }
  const top = size.rates[size.rates.length - 1];
  const headline = (side: Side) => at(side, top).report.scenarioDuration.p95 ?? NaN;
  return {
    metrics,
    runs: { baseline: [headline('baseline')], jelmore: [headline('jelmore')] },
    noise: { baseline: 0, jelmore: 0 },
    details: {
      ...size,
      sessionsPerRun: size.rates.map((r) => r * size.seconds),
      tool: 'artillery 1.7.9 + artillery-engine-socketio-v3 1.2.0 (socket.io-client 4), its CLI as a child process',
      scenario: `connect (websocket, auth token for Jelmore), session:create scripted ${size.events} × ${size.bytes} B at ${size.eventRate}/s, session:subscribe, think ${size.thinkSeconds} s, session:terminate; every ack must be ok`,
      sessionLength: "artillery's scenarioDuration: connect to the terminate's ack",
      reports: Object.fromEntries(runs.map((r) => [`${r.side}-${r.rate}`, r.reportPath])),
      runs: runs.map((r) => ({
        side: r.side,
        rate: r.rate,
        created: r.report.scenariosCreated,
        completed: r.report.scenariosCompleted,
        errors: r.report.errors,
        sessionLengthMs: r.report.scenarioDuration,
        ackMs: r.report.latency,
        createAckMs: r.report.customStats.create_ack_ms,
        assistantEventsPerSession: r.report.customStats.assistant_events,
        lag: r.lag,
        serverCpuSeconds: r.serverCpuSeconds,
        seconds: r.seconds,
      })),
    },
  };
}
