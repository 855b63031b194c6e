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
import { BenchContext, profiled, sidesFor, withServers } from '../support/context';
import { cpuSeconds } from '../support/proc';
import { Measured, metric } from '../support/results';
import type { ServerUnderTest, Side } from '../support/servers';
import { median, spread } from '../support/stats';

interface Setup {
  server: ServerUnderTest;
  sockets: Socket[];
  sessionIds: string[];
  watchers: TurnWatcher[];
}

interface Round {
  eventsPerSecond: number;
  serverCpuUsPerEvent: number;
  clientCpuShare: number;
}

/**
 * Event throughput: N sessions each stream M events as fast as they come (in-process scripted agents, so
 * only the server's path is measured), to S subscribers per session; events delivered per second over
 * all subscribers. Jelmore persists each event (group commit) before fanning it out; the bare server only
 * relays it.
 */
export async function throughput(ctx: BenchContext): Promise<Measured> {
  const size = ctx.quick
    ? { sessions: 2, events: 300, subscribers: 2, bytes: 100, rounds: 1 }
    : { sessions: 20, events: 5000, subscribers: 2, bytes: 100, rounds: 5 };
  const turn = (events: number) => `[[events ${events}]] [[rate 0]] [[bytes ${size.bytes}]]`;

  return withServers(ctx, async (servers) => {
    const setup = async (server: ServerUnderTest): Promise<Setup> => {
      const sockets = await connectMany(server.url, size.sessions * size.subscribers);
      const sessionIds: string[] = [];
      const watchers: TurnWatcher[] = [];
      for (let s = 0; s < size.sessions; s++) {
        const session = await createSession(sockets[s * size.subscribers], turn(0));
        sessionIds.push(session.id);
        for (let k = 0; k < size.subscribers; k++) {
          const socket = sockets[s * size.subscribers + k];
          const watcher = new TurnWatcher(size.events);
          onEvents(socket, (events) => watcher.take(events));
          await subscribe(socket, session.id);
          watchers.push(watcher);
        }
      }
      return { server, sockets, sessionIds, watchers };
    };
    const play = async ({ server, sockets, sessionIds, watchers }: Setup, events: number) => {
      watchers.forEach((w) => w.reset(events));
      const cpu0 = cpuSeconds(server.pid);
      const client0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await Promise.all([
        ...sessionIds.map((id, s) => input(sockets[s * size.subscribers], id, turn(events))),
        ...watchers.map((w) => w.done),
      ]);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const client = process.cpuUsage(client0);
      const delivered = watchers.length * events;
      // Let the sessions settle to idle before the next turn.
      await new Promise((r) => setTimeout(r, 200));
      return {
        eventsPerSecond: delivered / seconds,
        serverCpuUsPerEvent: ((cpuSeconds(server.pid) - cpu0) * 1e6) / delivered,
        clientCpuShare: (client.user + client.system) / 1e6 / seconds,
      };
    };

    const setups: Record<Side, Setup> = {
      baseline: await setup(servers.baseline),
      jelmore: await setup(servers.jelmore),
    };
    try {
      // Warm-up: JIT and caches on both sides, untimed.
      for (const side of sidesFor(0)) await play(setups[side], Math.ceil(size.events / 5));
      const rounds: Record<Side, Round[]> = { baseline: [], jelmore: [] };
      for (let r = 0; r < size.rounds; r++) {
        for (const side of sidesFor(r)) {
          const round = await profiled(ctx, setups[side].server, 'throughput', () =>
            play(setups[side], size.events),
          );
          rounds[side].push(round);
          ctx.log(
            `  ${side}: ${Math.round(round.eventsPerSecond)} events/s, server ${round.serverCpuUsPerEvent.toFixed(2)} µs CPU/event, client ${(round.clientCpuShare * 100).toFixed(0)}% CPU`,
          );
        }
      }
      const med = (side: Side, key: keyof Round) => median(rounds[side].map((x) => x[key]));
      const rate = {
        baseline: med('baseline', 'eventsPerSecond'),
        jelmore: med('jelmore', 'eventsPerSecond'),
      };
      return {
        metrics: [
          metric('events delivered', 'events/s', rate.baseline, rate.jelmore, {
            // Jelmore sends a commit's events in one packet, the bare server one per event (P15).
            text: '≥ 2× baseline',
            meets: rate.jelmore >= 2 * rate.baseline,
          }),
          metric(
            'server CPU per event',
            'µs',
            med('baseline', 'serverCpuUsPerEvent'),
            med('jelmore', 'serverCpuUsPerEvent'),
          ),
        ],
        runs: {
          baseline: rounds.baseline.map((x) => x.eventsPerSecond),
          jelmore: rounds.jelmore.map((x) => x.eventsPerSecond),
        },
        noise: {
          baseline: spread(rounds.baseline.map((x) => x.eventsPerSecond)),
          jelmore: spread(rounds.jelmore.map((x) => x.eventsPerSecond)),
        },
        details: {
          ...size,
          agent: 'scripted (in-process), unthrottled',
          baselineSends: 'one session:event packet per event to the session room',
          jelmoreSends: 'one session:events packet per committed batch per subscriber',
          clientCpuShare: {
            baseline: med('baseline', 'clientCpuShare'),
            jelmore: med('jelmore', 'clientCpuShare'),
          },
        },
      };
    } finally {
      closeAll([...setups.baseline.sockets, ...setups.jelmore.sockets]);
    }
  });
}
