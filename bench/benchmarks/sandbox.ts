import type { Socket } from 'socket.io-client';
import { FakeAnthropicServer } from '../../test/fixtures/fake-anthropic';
import { connect, onEvents } from '../support/client';
import type { BenchContext } from '../support/context';
import { Measured, metric } from '../support/results';
import { ServerUnderTest } from '../support/servers';
import { percentile, spread } from '../support/stats';
import { firstEvent } from './warm-start';

const SETTLE_MS = 300;
const sleep = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));

/**
 * What the agent sandbox adds to a session's start: session:create → first event for cold Claude
 * sessions (no warm pool) on two servers of the same build, one with JELMORE_AGENT_SANDBOX=off (the
 * baseline) and one with every agent in bubblewrap, alternating, against the same fake model API.
 */
export async function sandbox(ctx: BenchContext): Promise<Measured> {
  const iterations = ctx.quick ? 3 : 15;
  const fake = new FakeAnthropicServer();
  const fakeUrl = await fake.start();
  const env = {
    JELMORE_CLAUDE_ENABLED: 'true',
    JELMORE_CLAUDE_WARM_POOL_SIZE: '0',
    ANTHROPIC_BASE_URL: fakeUrl,
    ANTHROPIC_API_KEY: 'bench-key-not-secret',
  };
  const options = { cpus: ctx.serverCpus, nodeArgs: ctx.nodeArgs };
  const off = ServerUnderTest.jelmore(ctx.build, {
    ...options,
    env: { ...env, JELMORE_AGENT_SANDBOX: 'off' },
  });
  const on = ServerUnderTest.jelmore(ctx.build, {
    ...options,
    env: { ...env, JELMORE_AGENT_SANDBOX: 'bwrap' },
  });
  const sockets: Socket[] = [];
  try {
    await Promise.all([off.start(), on.start()]);
    const firstEvents = new Map<string, () => void>();
    const open = async (server: ServerUnderTest) => {
      const socket = await connect(server.url);
      sockets.push(socket);
      onEvents(socket, (events) => {
        for (const event of events)
          if (event.type === 'assistant') firstEvents.get(event.sessionId)?.();
      });
      return socket;
    };
    const sides = { off: await open(off), on: await open(on) };
    const runs: Record<keyof typeof sides, number[]> = { off: [], on: [] };
    const once = async (side: keyof typeof sides) => {
      await sleep(SETTLE_MS);
      return (await firstEvent(sides[side], firstEvents)).firstEventMs;
    };
    // Warm-up: the fake's and the servers' first requests, the CLI binary in the page cache.
    await once('off');
    await once('on');
    for (let i = 0; i < iterations; i++) {
      // Alternate which goes first, so drift in load hits both alike.
      const order: (keyof typeof sides)[] = i % 2 ? ['on', 'off'] : ['off', 'on'];
      for (const side of order) runs[side].push(await once(side));
    }
    const p = (values: number[], q: number) => percentile(values, q);
    ctx.log(
      `  sandbox off p50 ${p(runs.off, 50).toFixed(0)} ms, bwrap p50 ${p(runs.on, 50).toFixed(0)} ms (${iterations} each)`,
    );
    return {
      metrics: [
        metric('create → first event, p50 (off → bwrap)', 'ms', p(runs.off, 50), p(runs.on, 50)),
        metric('create → first event, p90 (off → bwrap)', 'ms', p(runs.off, 90), p(runs.on, 90)),
      ],
      runs: { baseline: runs.off, jelmore: runs.on },
      noise: { baseline: spread(runs.off), jelmore: spread(runs.on) },
      details: {
        iterations,
        agent: 'Claude Code CLI, cold start (no warm pool), against the fake model API',
        baseline: 'the same server with JELMORE_AGENT_SANDBOX=off',
      },
    };
  } finally {
    for (const socket of sockets) socket.disconnect();
    await Promise.all([off.stop(), on.stop()]);
    await fake.stop();
  }
}
