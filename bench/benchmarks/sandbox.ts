import { ClaudeServers } from '../support/claude-servers';
import type { BenchContext } from '../support/context';
import { Measured, metric } from '../support/results';
import { percentile, spread } from '../support/stats';

const SETTLE_MS = 300;
const sleep = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));

/**
 * What the agent sandbox adds to a session's start: session:create → first event for cold Claude
 * sessions (no warm pool) on two servers of the same build, one with JELMORE_AGENT_SANDBOX=off (the
 * baseline) and one with every agent in bubblewrap, alternating, against the same fake model API.
 */
export async function sandbox(ctx: BenchContext): Promise<Measured> {
  const iterations = ctx.quick ? 3 : 15;
  const servers = await ClaudeServers.start(ctx, {
    off: { JELMORE_CLAUDE_WARM_POOL_SIZE: '0', JELMORE_AGENT_SANDBOX: 'off' },
    on: { JELMORE_CLAUDE_WARM_POOL_SIZE: '0', JELMORE_AGENT_SANDBOX: 'bwrap' },
  });
  try {
    const runs = { off: [] as number[], on: [] as number[] };
    const once = async (side: keyof typeof runs) => {
      await sleep(SETTLE_MS);
      return (await servers.firstEvent(side)).firstEventMs;
    };
    // Warm-up: the fake's and the servers' first requests, the CLI binary in the page cache.
    await once('off');
    await once('on');
    for (let i = 0; i < iterations; i++) {
      // Alternate which goes first, so drift in load hits both alike.
      const order: (keyof typeof runs)[] = i % 2 ? ['on', 'off'] : ['off', 'on'];
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
    await servers.stop();
  }
}
