import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { pngImage, sha256 } from '../../test/support/media';
import { BenchContext, profiled, sidesFor, withServers } from '../support/context';
import { cpuSeconds } from '../support/proc';
import { Measured, Metric, metric } from '../support/results';
import type { ServerUnderTest, Side } from '../support/servers';
import { median, round, spread } from '../support/stats';

const MiB = 2 ** 20;
const CONNECTIONS = 10;

/**
 * A 1 MiB PNG: a real one (the server checks the magic number) with random bytes after its end, so
 * nothing on the way can shrink it. Its last 4 bytes hold a counter when each upload must differ.
 */
function uploadBody(size: number): Buffer {
  const png = pngImage(1);
  return Buffer.concat([png, randomBytes(size - png.length)]);
}

/**
 * Each upload new bytes (a new screenshot each time: Jelmore writes every blob), or the same file sent
 * again (its blob is kept once by its SHA-256; only the attachment's row is written).
 */
type Variant = 'distinct' | 'same';

interface Shot {
  requestsPerSecond: number;
  megabytesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time (user + system, all its threads) per upload. */
  cpuMsPerUpload: number;
  /** The server's event-loop delay meanwhile (what a session streaming on it would feel). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

/** Counts distinct uploads across shots, so that no round sends bytes an earlier one sent. */
const uploadCount = { next: 1 };

async function fire(
  server: ServerUnderTest,
  body: Buffer,
  variant: Variant,
  seconds: number,
): Promise<Shot> {
  const counterAt = body.length - 4;
  await server.resetLag();
  const cpuBefore = cpuSeconds(server.pid);
  const result = await autocannon({
    url: `${server.url}/v1/attachments`,
    connections: CONNECTIONS,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'image/png' },
        body,
        // autocannon copies the body into each request it builds, so changing it here is safe.
        ...(variant === 'distinct' && {
          setupRequest: (request: autocannon.Request) => {
            body.writeUInt32BE(uploadCount.next++, counterAt);
            return request;
          },
        }),
      },
    ],
  });
  const cpu = cpuSeconds(server.pid) - cpuBefore;
  const lag = await server.lag();
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0)
    throw new Error(
      `POST ${server.url}/v1/attachments (${server.side}): ${failed} of ${result.requests.total} failed`,
    );
  const ok = result['2xx'];
  return {
    requestsPerSecond: ok / result.duration,
    megabytesPerSecond: (ok * body.length) / result.duration / 1e6,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuMsPerUpload: (cpu * 1000) / ok,
    loopDelayP99Ms: lag.p99Ms,
    loopDelayMaxMs: lag.maxMs,
  };
}

/** One upload to each server, to fail early if either does not take the file as it should. */
async function check(server: ServerUnderTest, body: Buffer): Promise<void> {
  const res = await fetch(`${server.url}/v1/attachments`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body,
  });
  const answer = (await res.json()) as { size?: number; sha256?: string; mediaType?: string };
  const expected = sha256(body);
  if (
    res.status !== 201 ||
    answer.size !== body.length ||
    answer.sha256 !== expected ||
    (server.side === 'jelmore' && answer.mediaType !== 'image/png')
  ) {
    throw new Error(`${server.side}: upload answered ${res.status} ${JSON.stringify(answer)}`);
  }
}

/**
 * `POST /v1/attachments` of a 1 MiB PNG (raw body) with autocannon, 10 connections: MB/s taken, and
 * latency, with each upload new bytes (the headline) and with the same file again and again. The
 * baseline is the bare node:http server reading the body, hashing it and keeping it in a Map: what an
 * upload cannot do without. Jelmore adds auth, type sniffing, the SQLite write and the request log.
 */
export async function attachments(ctx: BenchContext): Promise<Measured> {
  const seconds = ctx.quick ? 1 : 5;
  const rounds = ctx.quick ? 1 : 3;
  const body = uploadBody(MiB);
  return withServers(ctx, async (servers) => {
    for (const side of ['baseline', 'jelmore'] as const) {
      await check(servers[side], body);
      // One uncounted second each: the first round would otherwise carry JIT and the first allocations.
      if (!ctx.quick) await fire(servers[side], body, 'distinct', 1);
    }
    const metrics: Metric[] = [];
    const runs: Record<Side, number[]> = { baseline: [], jelmore: [] };
    const figures: Record<string, Record<Side, Omit<Shot, 'requestsPerSecond'>>> = {};
    for (const variant of ['distinct', 'same'] as const) {
      const shots: Record<Side, Shot[]> = { baseline: [], jelmore: [] };
      for (let r = 0; r < rounds; r++) {
        for (const side of sidesFor(r)) {
          const server = servers[side];
          const shot = await profiled(ctx, server, `attachments-${variant}`, () =>
            fire(server, body, variant, seconds),
          );
          shots[side].push(shot);
          ctx.log(
            `  ${variant} bytes, ${side}: ${Math.round(shot.requestsPerSecond)} uploads/s, ` +
              `${shot.megabytesPerSecond.toFixed(0)} MB/s, p50 ${shot.p50Ms} ms, p99 ${shot.p99Ms} ms, ` +
              `CPU ${shot.cpuMsPerUpload.toFixed(2)} ms/upload, ` +
              `event-loop delay p99 ${shot.loopDelayP99Ms.toFixed(1)} ms, max ${shot.loopDelayMaxMs.toFixed(1)} ms`,
          );
        }
      }
      const med = (side: Side, key: keyof Shot) => round(median(shots[side].map((s) => s[key])));
      const both = (name: string, unit: string, key: keyof Shot) =>
        metrics.push(metric(name, unit, med('baseline', key), med('jelmore', key)));
      const label = variant === 'distinct' ? 'new bytes each' : 'the same file again';
      both(`1 MiB uploads, ${label}`, 'MB/s', 'megabytesPerSecond');
      both(`latency p50, ${label}`, 'ms', 'p50Ms');
      both(`latency p99, ${label}`, 'ms', 'p99Ms');
      both(`server CPU per upload, ${label}`, 'ms', 'cpuMsPerUpload');
      both(`event-loop delay p99, ${label}`, 'ms', 'loopDelayP99Ms');
      const summary = (side: Side) => ({
        uploadsPerSecond: med(side, 'requestsPerSecond'),
        megabytesPerSecond: med(side, 'megabytesPerSecond'),
        p50Ms: med(side, 'p50Ms'),
        p99Ms: med(side, 'p99Ms'),
        cpuMsPerUpload: med(side, 'cpuMsPerUpload'),
        loopDelayP99Ms: med(side, 'loopDelayP99Ms'),
        loopDelayMaxMs: med(side, 'loopDelayMaxMs'),
      });
      figures[variant] = { baseline: summary('baseline'), jelmore: summary('jelmore') };
      if (variant === 'distinct') {
        runs.baseline = shots.baseline.map((s) => s.megabytesPerSecond);
        runs.jelmore = shots.jelmore.map((s) => s.megabytesPerSecond);
      }
    }
    return {
      metrics,
      runs,
      noise: { baseline: spread(runs.baseline), jelmore: spread(runs.jelmore) },
      details: {
        bodyBytes: body.length,
        connections: CONNECTIONS,
        secondsPerShot: seconds,
        rounds,
        medians: figures,
        baseline:
          'node:http: reads the body, SHA-256, keeps it in a Map by hash (the newest 16), 201 {id, size, sha256}',
        jelmore:
          'NestJS + helmet + API-key guard (no keys: local principal) + type sniffing + SQLite insert of ' +
          'blob and row in one transaction (WAL) + pino request log (info)',
      },
    };
  });
}
