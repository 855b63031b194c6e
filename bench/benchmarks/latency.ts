import type { Socket } from 'socket.io-client';
import {
  closeAll,
  connectMany,
  createSession,
  input,
  onEvents,
  subscribe,
  terminate,
  TurnWatcher,
} from '../support/client';
import { BenchContext, profiled, sidesFor, withServers } from '../support/context';
import { Measured, Metric, metric } from '../support/results';
import type { ServerUnderTest, Side } from '../support/servers';
import { median, percentile, spread } from '../support/stats';

/** P15's targets: what Jelmore adds over the bare relay, p50 for one session, p99 for twenty. */
const ADDED_P50_TARGET_MS = 0.5;
const ADDED_P99_TARGET_MS = 5;

interface Level {
  label: string;
  sessions: number;
  rate: number;
  seconds: number;
  /** Repetitions per side; the busy level's p99 swings with the machine's other load, so it gets more. */
  rounds: number;
  /** Which percentile's added latency has a target at this level. */
  target?: 'p50' | 'p99';
}

interface Setup {
  server: ServerUnderTest;
  sockets: Socket[];
  sessionIds: string[];
  watchers: TurnWatcher[];
  /** Milliseconds from the agent's stdout to the client, one per event of the current round. */
  samples: number[];
}

/**
 * Latency per event from the agent's stdout to the client: scripted agents run as real child processes
 * (model scripted-process) and stamp each event with the monotonic clock as they write it; the client
 * subtracts that from the clock when the packet arrives. The bare server spawns the same agent program
 * and relays each line at once; Jelmore commits it first (group commit) and then sends it.
 */
export async function latency(ctx: BenchContext): Promise<Measured> {
  const levels: Level[] = ctx.quick
    ? [{ label: '2 sessions × 100 events/s', sessions: 2, rate: 100, seconds: 0.5, rounds: 1 }]
    : [
        {
          label: '1 session × 100 events/s',
          sessions: 1,
          rate: 100,
          seconds: 5,
          rounds: 3,
          target: 'p50',
        },
        {
          label: '20 sessions × 100 events/s',
          sessions: 20,
          rate: 100,
          seconds: 5,
          rounds: 5,
          target: 'p99',
        },
      ];
  const metrics: Metric[] = [];
  const runs: Record<Side, number[]> = { baseline: [], jelmore: [] };
  const details: Record<string, unknown> = {
    agent: 'scripted-process (a node child process per session), [[stamp]], 64-byte texts',
    figures: 'median over the rounds of each round’s percentile',
  };

  // The busiest level is the headline: it comes first in the table.
  for (const level of [...levels].reverse()) {
    const events = Math.round(level.rate * level.seconds);
    const turn = `[[events ${events}]] [[rate ${level.rate}]] [[bytes 64]] [[stamp]]`;
    await withServers(ctx, async (servers) => {
      const setup = async (server: ServerUnderTest): Promise<Setup> => {
        const sockets = await connectMany(server.url, level.sessions);
        const samples: number[] = [];
        const watchers: TurnWatcher[] = [];
        const sessionIds: string[] = [];
        for (const socket of sockets) {
          const session = await createSession(socket, '[[events 0]]', 'scripted-process');
          const watcher = new TurnWatcher(events);
          onEvents(socket, (batch, receivedAt) => {
            for (const event of batch) {
              if (event.type !== 'assistant') continue;
              const stamp = BigInt(event.text.slice(0, event.text.indexOf(' ')));
              samples.push(Number(receivedAt - stamp) / 1e6);
            }
            watcher.take(batch);
          });
          await subscribe(socket, session.id);
          sessionIds.push(session.id);
          watchers.push(watcher);
        }
        return { server, sockets, sessionIds, watchers, samples };
      };
      const play = async (s: Setup, n: number) => {
        s.samples.length = 0;
        s.watchers.forEach((w) => w.reset(n));
        const text = turn.replace(/\[\[events \d+\]\]/, `[[events ${n}]]`);
        await Promise.all([
          ...s.sessionIds.map((id, i) => input(s.sockets[i], id, text)),
          ...s.watchers.map((w) => w.done),
        ]);
        await new Promise((r) => setTimeout(r, 100));
        return {
          p50: percentile(s.samples, 50),
          p99: percentile(s.samples, 99),
          n: s.samples.length,
        };
      };

      const setups: Record<Side, Setup> = {
        baseline: await setup(servers.baseline),
        jelmore: await setup(servers.jelmore),
      };
      try {
        for (const side of sidesFor(0)) await play(setups[side], Math.ceil(events / 5));
        const results: Record<Side, { p50: number; p99: number; n: number }[]> = {
          baseline: [],
          jelmore: [],
        };
        for (let r = 0; r < level.rounds; r++) {
          for (const side of sidesFor(r)) {
            const result = await profiled(ctx, setups[side].server, 'latency', () =>
              play(setups[side], events),
            );
            results[side].push(result);
            ctx.log(
              `  ${level.label}, ${side}: p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms (${result.n} events)`,
            );
          }
        }
        const med = (side: Side, key: 'p50' | 'p99') => median(results[side].map((x) => x[key]));
        const p99 = { baseline: med('baseline', 'p99'), jelmore: med('jelmore', 'p99') };
        const p50 = { baseline: med('baseline', 'p50'), jelmore: med('jelmore', 'p50') };
        const added = (q: { baseline: number; jelmore: number }, limit: number) => ({
          text: `≤ baseline + ${limit} ms`,
          meets: q.jelmore - q.baseline <= limit,
        });
        metrics.push(
          metric(
            `p99, ${level.label}`,
            'ms',
            p99.baseline,
            p99.jelmore,
            level.target === 'p99' ? added(p99, ADDED_P99_TARGET_MS) : undefined,
          ),
          metric(
            `p50, ${level.label}`,
            'ms',
            p50.baseline,
            p50.jelmore,
            level.target === 'p50' ? added(p50, ADDED_P50_TARGET_MS) : undefined,
          ),
        );
        details[level.label] = {
          addedP50Ms: p50.jelmore - p50.baseline,
          addedP99Ms: p99.jelmore - p99.baseline,
          eventsPerRound: events * level.sessions,
          rounds: level.rounds,
          p99PerRound: {
            baseline: results.baseline.map((x) => x.p99),
            jelmore: results.jelmore.map((x) => x.p99),
          },
        };
        if (runs.baseline.length === 0) {
          runs.baseline = results.baseline.map((x) => x.p99);
          runs.jelmore = results.jelmore.map((x) => x.p99);
        }
        for (const s of Object.values(setups)) {
          await Promise.all(s.sessionIds.map((id, i) => terminate(s.sockets[i], id)));
        }
      } finally {
        closeAll([...setups.baseline.sockets, ...setups.jelmore.sockets]);
      }
    });
  }
  return {
    metrics,
    runs,
    noise: { baseline: spread(runs.baseline), jelmore: spread(runs.jelmore) },
    details,
  };
}
