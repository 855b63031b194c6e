import type { Socket } from 'socket.io-client';
import type { SessionEvent } from '../../libs/contracts/src/events';
import type { SessionResource } from '../../libs/contracts/src/session';
import { WsClientEvents } from '../../libs/contracts/src/ws-protocol';
import { FakeGeminiServer } from '../../test/fixtures/fake-gemini';
import { FakeOpenAIServer } from '../../test/fixtures/fake-openai';
import { eventually, processesIn } from '../../test/support/processes';
import { connect, input, onEvents, request, subscribe, terminate } from '../support/client';
import type { BenchContext } from '../support/context';
import { Measured, metric } from '../support/results';
import { ServerUnderTest } from '../support/servers';
import { percentile, spread } from '../support/stats';

/** Each side waits this long before each create and each second turn, so one's tail is not the other's cost. */
const SETTLE_MS = 300;
const TURN_TIMEOUT_MS = 120_000;
const FIRST = 'hello';
const SECOND = 'and again';

const ms = (from: bigint, to: bigint) => Number(to - from) / 1e6;
const sleep = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));

/** The bespoke provider of each agent (baseline) and its ACP preset, both against the same fake. */
const AGENTS = {
  gemini: { bespoke: 'gemini', acp: 'gemini-acp' },
  opencode: { bespoke: 'opencode', acp: 'opencode-acp' },
} as const;
type Agent = keyof typeof AGENTS;
type Route = 'bespoke' | 'acp';

/** One session's figures, in ms: from session:create, and from the second turn's session:input. */
interface Sample {
  firstEvent: number;
  result: number;
  secondFirstEvent: number;
  secondResult: number;
}
const FIGURES = ['firstEvent', 'result', 'secondFirstEvent', 'secondResult'] as const;

/** Every event a socket receives, per session, with its arrival time; waiters re-check on each batch. */
class Events {
  private readonly seen = new Map<string, { event: SessionEvent; at: bigint }[]>();
  private readonly waiters = new Set<() => void>();

  constructor(socket: Socket) {
    onEvents(socket, (batch, at) => {
      for (const event of batch) {
        const list = this.seen.get(event.sessionId) ?? [];
        list.push({ event, at });
        this.seen.set(event.sessionId, list);
      }
      for (const wake of this.waiters) wake();
    });
  }

  /** The arrival time of the first event of `sessionId` after `afterSeq` that `match` accepts. */
  waitFor(
    sessionId: string,
    afterSeq: number,
    match: (event: SessionEvent) => boolean,
  ): Promise<{ event: SessionEvent; at: bigint }> {
    const find = () =>
      this.seen.get(sessionId)?.find((e) => e.event.seq > afterSeq && match(e.event));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        const got = (this.seen.get(sessionId) ?? []).map((e) => e.event.type).join(', ');
        reject(new Error(`session ${sessionId}: no such event in ${TURN_TIMEOUT_MS} ms (${got})`));
      }, TURN_TIMEOUT_MS);
      const check = () => {
        const hit = find();
        if (!hit) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(hit);
      };
      this.waiters.add(check);
      check();
    });
  }

  forget(sessionId: string): void {
    this.seen.delete(sessionId);
  }
}

const TERMINAL = (state: string) => state === 'terminated' || state === 'failed';
const failed = (e: SessionEvent) =>
  e.type === 'error' || (e.type === 'status' && (e.to === 'failed' || e.to === 'terminated'));

/**
 * One session of `provider`: session:create → the first assistant event and the result at the client
 * (subscribed right after the ack; the log replays what came before), then, once the session is idle,
 * session:input → the second turn's first assistant event and result. Terminated after, and its agent
 * processes waited out so they cost the next session nothing.
 */
async function oneSession(socket: Socket, events: Events, provider: string): Promise<Sample> {
  await sleep(SETTLE_MS);
  const t0 = process.hrtime.bigint();
  const { session } = await request<{ session: SessionResource }>(socket, WsClientEvents.create, {
    provider,
    query: FIRST,
  });
  const id = session.id;
  try {
    await subscribe(socket, id);
    const turn = async (after: number, from: bigint) => {
      const first = await events.waitFor(id, after, (e) => e.type === 'assistant' || failed(e));
      if (first.event.type !== 'assistant')
        throw new Error(`${provider} session ${id}: ${JSON.stringify(first.event)}`);
      const result = await events.waitFor(id, after, (e) => e.type === 'result');
      const idle = await events.waitFor(
        id,
        result.event.seq,
        (e) => e.type === 'status' && (e.to === 'idle' || TERMINAL(e.to)),
      );
      if (idle.event.type === 'status' && idle.event.to !== 'idle')
        throw new Error(`${provider} session ${id} ended: ${JSON.stringify(idle.event)}`);
      return { first: ms(from, first.at), result: ms(from, result.at), seq: idle.event.seq };
    };
    const one = await turn(0, t0);
    await sleep(SETTLE_MS);
    const t1 = process.hrtime.bigint();
    await input(socket, id, SECOND);
    const two = await turn(one.seq, t1);
    return {
      firstEvent: one.first,
      result: one.result,
      secondFirstEvent: two.first,
      secondResult: two.result,
    };
  } finally {
    await terminate(socket, id).catch(() => undefined);
    await eventually(() => processesIn(session.cwd).length === 0, 15_000);
    events.forget(id);
  }
}

/**
 * ACP against the bespoke integration of the same agent CLI, on one Jelmore server: Gemini (`gemini`,
 * a CLI process per turn, against `gemini-acp`, one `gemini --acp` per session) on a fake Gemini API,
 * and OpenCode (`opencode`, an `opencode serve` per session, against `opencode-acp`, `opencode acp` on
 * stdio) on a fake OpenAI API. Per session: create → first assistant event and → result, and a second
 * turn's input → first assistant event and → result. Routes alternate session by session.
 */
export async function acp(ctx: BenchContext): Promise<Measured> {
  const iterations = ctx.quick ? 1 : 5;
  const gemini = new FakeGeminiServer();
  const openai = new FakeOpenAIServer();
  const [geminiUrl, openaiUrl] = await Promise.all([gemini.start(), openai.start()]);
  const server = ServerUnderTest.jelmore(ctx.build, {
    cpus: ctx.serverCpus,
    nodeArgs: ctx.nodeArgs,
    env: {
      // The providers read these at boot, from the server's environment as in production.
      JELMORE_GEMINI_BASE_URL: geminiUrl,
      JELMORE_GEMINI_API_KEY: 'bench-key-not-secret',
      JELMORE_OPENCODE_ENABLED: 'true',
      JELMORE_OPENCODE_BASE_URL: openaiUrl,
      JELMORE_OPENCODE_API_KEY: 'bench-key-not-secret',
      JELMORE_CODEX_ENABLED: 'false',
    },
  });
  let socket: Socket | undefined;
  try {
    await server.start();
    socket = await connect(server.url);
    const events = new Events(socket);
    const samples = {} as Record<Agent, Record<Route, Sample[]>>;
    for (const agent of Object.keys(AGENTS) as Agent[]) {
      samples[agent] = { bespoke: [], acp: [] };
      const run = async (route: Route) =>
        oneSession(socket!, events, AGENTS[agent][route]).catch((err: unknown) => {
          throw new Error(`${String(err)}\n${server.log.slice(-4000)}`);
        });
      // Warm-up, not counted: the fake's and the server's first requests, the CLI in the page cache.
      if (!ctx.quick) {
        await run('bespoke');
        await run('acp');
      }
      for (let i = 0; i < iterations; i++) {
        // Alternate which goes first, so drift in load hits both alike.
        const order: Route[] = i % 2 ? ['acp', 'bespoke'] : ['bespoke', 'acp'];
        for (const route of order) samples[agent][route].push(await run(route));
      }
      const p50 = (route: Route, figure: keyof Sample) =>
        percentile(
          samples[agent][route].map((s) => s[figure]),
          50,
        ).toFixed(0);
      ctx.log(
        `  ${agent}: create → first event p50 ${p50('bespoke', 'firstEvent')} → ${p50('acp', 'firstEvent')} ms (ACP), ` +
          `→ result ${p50('bespoke', 'result')} → ${p50('acp', 'result')} ms; ` +
          `turn 2 → first event ${p50('bespoke', 'secondFirstEvent')} → ${p50('acp', 'secondFirstEvent')} ms (${iterations} each)`,
      );
    }

    const p = (agent: Agent, route: Route, figure: keyof Sample, q = 50) =>
      percentile(
        samples[agent][route].map((s) => s[figure]),
        q,
      );
    const pair = (agent: Agent, label: string, figure: keyof Sample, q = 50) =>
      metric(
        `${agent === 'gemini' ? 'Gemini' : 'OpenCode'} ${label}, p${q} (${AGENTS[agent].bespoke} → ${AGENTS[agent].acp})`,
        'ms',
        p(agent, 'bespoke', figure, q),
        p(agent, 'acp', figure, q),
      );
    const metrics = (Object.keys(AGENTS) as Agent[]).flatMap((agent) => [
      pair(agent, 'create → first event', 'firstEvent'),
      pair(agent, 'create → result', 'result'),
      pair(agent, 'turn 2 input → first event', 'secondFirstEvent'),
      pair(agent, 'turn 2 input → result', 'secondResult'),
    ]);
    const head = (route: Route) => samples.gemini[route].map((s) => s.firstEvent);
    return {
      metrics,
      runs: { baseline: head('bespoke'), jelmore: head('acp') },
      noise: { baseline: spread(head('bespoke')), jelmore: spread(head('acp')) },
      details: {
        iterations,
        baseline:
          'the bespoke provider of the same agent CLI (gemini; opencode), same server and fake',
        jelmore: 'its ACP preset (gemini-acp: gemini --acp; opencode-acp: opencode acp)',
        ratio: 'ACP / bespoke',
        prompts: { first: FIRST, second: SECOND },
        settleMs: SETTLE_MS,
        samples: Object.fromEntries(
          (Object.keys(AGENTS) as Agent[]).flatMap((agent) =>
            (['bespoke', 'acp'] as Route[]).map((route) => [
              AGENTS[agent][route],
              Object.fromEntries(
                FIGURES.map((figure) => [
                  figure,
                  samples[agent][route].map((s) => Math.round(s[figure])),
                ]),
              ),
            ]),
          ),
        ),
      },
    };
  } finally {
    socket?.disconnect();
    await server.stop();
    await Promise.all([gemini.stop(), openai.stop()]);
  }
}
