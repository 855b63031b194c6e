import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Socket } from 'socket.io-client';
import { SCRIPTED_AGENT_SOURCE } from '../../libs/providers/src/scripted/scripted.script';
import { connect, createSession, onEvents, subscribe, terminate } from '../support/client';
import { BenchContext, profiled, withServer } from '../support/context';
import { Measured, metric } from '../support/results';
import type { ServerUnderTest } from '../support/servers';
import { percentile, spread } from '../support/stats';

const OVERHEAD_TARGET_MS = 15;
const FIRST_TURN = '[[events 1]] [[rate 0]]';

const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/** The same agent program, spawned as AgentProcess spawns it, timed to its first event on stdout. */
async function bareSpawn(cwd: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, ['-e', SCRIPTED_AGENT_SOURCE], {
    cwd,
    env: {},
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const firstEvent = new Promise<number>((resolve) =>
    createInterface({ input: child.stdout }).on('line', (line) => {
      if ((JSON.parse(line) as { type: string }).type === 'assistant') resolve(ms(t0));
    }),
  );
  child.stdin.write(`${JSON.stringify({ type: 'user', text: FIRST_TURN, turn: 1 })}\n`);
  const elapsed = await firstEvent;
  const exited = once(child, 'exit');
  child.stdin.end();
  await exited;
  return elapsed;
}

/** session:create → the session's first assistant event at the client (create's ack, then subscribe). */
async function jelmoreStart(
  socket: Socket,
  firstEvents: Map<string, () => void>,
  model: string,
): Promise<{ firstEventMs: number; ackMs: number }> {
  const t0 = process.hrtime.bigint();
  const session = await createSession(socket, FIRST_TURN, model);
  const ackMs = ms(t0);
  const first = new Promise<void>((resolve) => firstEvents.set(session.id, resolve));
  await subscribe(socket, session.id);
  await first;
  const firstEventMs = ms(t0);
  firstEvents.delete(session.id);
  await terminate(socket, session.id);
  return { firstEventMs, ackMs };
}

/**
 * Startup: from session:create to the first event at the client, against a bare spawn of the same agent
 * program to its first line on stdout. The agent is the scripted one run as a process (model
 * scripted-process): a node process that answers in ~40 ms with little spread, so an overhead of a few
 * ms stands out (a Claude CLI start takes 0.4–0.7 s, and varies by more than the overhead measured).
 */
export async function startup(ctx: BenchContext): Promise<Measured> {
  const iterations = ctx.quick ? 3 : 40;
  const cwd = mkdtempSync(join(tmpdir(), 'jelmore-bench-spawn-'));
  try {
    return await withServer(ctx, 'jelmore', async (server: ServerUnderTest) => {
      const socket = await connect(server.url);
      const firstEvents = new Map<string, () => void>();
      onEvents(socket, (events) => {
        for (const event of events) {
          if (event.type === 'assistant') firstEvents.get(event.sessionId)?.();
        }
      });
      try {
        // Warm-up: JIT on both paths.
        for (let i = 0; i < 3; i++) {
          await bareSpawn(cwd);
          await jelmoreStart(socket, firstEvents, 'scripted-process');
        }
        const bare: number[] = [];
        const jelmore: number[] = [];
        const acks: number[] = [];
        const inProcess: number[] = [];
        await profiled(ctx, server, 'startup', async () => {
          for (let i = 0; i < iterations; i++) {
            // Alternate which goes first, so drift in load hits both alike.
            const pair = [
              async () => bare.push(await bareSpawn(cwd)),
              async () => {
                const result = await jelmoreStart(socket, firstEvents, 'scripted-process');
                jelmore.push(result.firstEventMs);
                acks.push(result.ackMs);
              },
            ];
            if (i % 2) pair.reverse();
            for (const run of pair) await run();
            inProcess.push((await jelmoreStart(socket, firstEvents, 'scripted')).firstEventMs);
          }
        });
        ctx.log(
          `  bare spawn p50 ${percentile(bare, 50).toFixed(1)} ms, Jelmore p50 ${percentile(jelmore, 50).toFixed(1)} ms (${iterations} each)`,
        );
        const p = (values: number[], q: number) => percentile(values, q);
        return {
          metrics: [
            metric('create → first event, p50', 'ms', p(bare, 50), p(jelmore, 50), {
              text: `≤ baseline + ${OVERHEAD_TARGET_MS} ms`,
              meets: p(jelmore, 50) - p(bare, 50) <= OVERHEAD_TARGET_MS,
            }),
            metric('create → first event, p90', 'ms', p(bare, 90), p(jelmore, 90)),
          ],
          runs: { baseline: bare, jelmore },
          noise: { baseline: spread(bare), jelmore: spread(jelmore) },
          details: {
            iterations,
            agent: 'scripted-process; baseline: the same program spawned by the runner',
            overheadP50Ms: p(jelmore, 50) - p(bare, 50),
            overheadP90Ms: p(jelmore, 90) - p(bare, 90),
            createAckP50Ms: p(acks, 50),
            inProcessAgentFirstEventP50Ms: p(inProcess, 50),
          },
        };
      } finally {
        socket.disconnect();
      }
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
