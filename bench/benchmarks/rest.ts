import autocannon from 'autocannon';
import type { SessionResource } from '../../libs/contracts/src/session';
import { BenchContext, profiled, sidesFor, withServers } from '../support/context';
import { Measured, Metric, metric } from '../support/results';
import { ServerUnderTest, Side } from '../support/servers';
import { median, spread } from '../support/stats';

const CREATE_BODY = JSON.stringify({ provider: 'scripted', query: '[[events 1]] [[rate 0]]' });
/** Jelmore runs with an API key (not an admin's), so the key guard and per-key throttlers are in the path. */
/** P15: each route at least this share of the bare node:http server's requests per second. */
const REST_TARGET_RATIO = 0.5;
const API_KEY = 'rest-bench-key-0123456789abcdef';
const AUTH = { authorization: `Bearer ${API_KEY}` };

interface Shot {
  requestsPerSecond: number;
  p99Ms: number;
}

async function fire(
  url: string,
  seconds: number,
  request: Pick<autocannon.Options, 'method' | 'body' | 'headers'>,
): Promise<Shot> {
  const result = await autocannon({ url, connections: 10, duration: seconds, ...request });
  const failed = result.non2xx + result.errors + result.timeouts;
  if (failed > 0)
    throw new Error(
      `${request.method ?? 'GET'} ${url}: ${failed} of ${result.requests.total} requests failed`,
    );
  return { requestsPerSecond: result['2xx'] / result.duration, p99Ms: result.latency.p99 };
}

/**
 * REST throughput with autocannon (10 connections): get one session, list (with 100 sessions in the
 * store), and create (each starts an in-process scripted agent that answers one event). The baseline is
 * a bare node:http server keeping sessions in a Map: the floor of what serving these routes costs.
 */
export async function rest(ctx: BenchContext): Promise<Measured> {
  const seconds = ctx.quick ? 1 : 5;
  const rounds = ctx.quick ? 1 : 3;
  return withServers(
    ctx,
    async (servers) => {
      const seed = async (server: ServerUnderTest): Promise<string> => {
        let id = '';
        for (let i = 0; i < 100; i++) {
          const res = await fetch(`${server.url}/v1/sessions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...AUTH },
            body: CREATE_BODY,
          });
          if (!res.ok) throw new Error(`seeding ${server.side}: ${res.status} ${await res.text()}`);
          id = ((await res.json()) as SessionResource).id;
        }
        return id;
      };
      const ids: Record<Side, string> = {
        baseline: await seed(servers.baseline),
        jelmore: await seed(servers.jelmore),
      };
      const routes = [
        {
          name: 'get',
          path: (side: Side) => `/v1/sessions/${ids[side]}`,
          request: { headers: AUTH },
        },
        { name: 'list (100 sessions)', path: () => '/v1/sessions', request: { headers: AUTH } },
        {
          name: 'create',
          path: () => '/v1/sessions',
          request: {
            method: 'POST' as const,
            body: CREATE_BODY,
            headers: { 'content-type': 'application/json', ...AUTH },
          },
        },
      ];
      const metrics: Metric[] = [];
      const runs: Record<Side, number[]> = { baseline: [], jelmore: [] };
      const p99: Record<string, Record<Side, number>> = {};
      for (const route of routes) {
        const shots: Record<Side, Shot[]> = { baseline: [], jelmore: [] };
        // Creates pile up sessions; warm-up runs only for the reads, which do not change what they read.
        for (let r = 0; r < rounds; r++) {
          for (const side of sidesFor(r)) {
            const server = servers[side];
            const shot = await profiled(ctx, server, `rest-${route.name.split(' ')[0]}`, () =>
              fire(`${server.url}${route.path(side)}`, seconds, route.request),
            );
            shots[side].push(shot);
            ctx.log(
              `  ${route.name}, ${side}: ${Math.round(shot.requestsPerSecond)} req/s, p99 ${shot.p99Ms} ms`,
            );
          }
        }
        const rate = (side: Side) => median(shots[side].map((s) => s.requestsPerSecond));
        metrics.push(
          metric(route.name, 'req/s', rate('baseline'), rate('jelmore'), {
            text: `≥ ${REST_TARGET_RATIO}× baseline`,
            meets: rate('jelmore') >= REST_TARGET_RATIO * rate('baseline'),
          }),
        );
        p99[route.name] = {
          baseline: median(shots.baseline.map((s) => s.p99Ms)),
          jelmore: median(shots.jelmore.map((s) => s.p99Ms)),
        };
        if (route.name === 'get') {
          runs.baseline = shots.baseline.map((s) => s.requestsPerSecond);
          runs.jelmore = shots.jelmore.map((s) => s.requestsPerSecond);
        }
      }
      return {
        metrics,
        runs,
        noise: { baseline: spread(runs.baseline), jelmore: spread(runs.jelmore) },
        details: {
          connections: 10,
          secondsPerShot: seconds,
          rounds,
          latencyP99Ms: p99,
          baseline: 'node:http, sessions in a Map, no validation, auth, logging or store',
          jelmore:
            'NestJS + helmet + API key (not admin) + rate limits + validation + pino request logs (info) + SQLite store',
        },
      };
    },
    // Jelmore checks the key the requests carry (the bare server ignores it).
    { JELMORE_API_KEYS: `bench:${API_KEY}` },
  );
}
