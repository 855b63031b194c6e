import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Socket } from 'socket.io-client';
import type { SessionEvent } from '../../libs/contracts/src/events';
import type { SessionResource } from '../../libs/contracts/src/session';
import { WsClientEvents } from '../../libs/contracts/src/ws-protocol';
import { FakeAnthropicServer } from '../../test/fixtures/fake-anthropic';
import { eventually, processesMentioning } from '../../test/support/processes';
import { connect, onEvents, request, subscribe, terminate } from '../support/client';
import { BenchContext, profiled } from '../support/context';
import { delegationServerOf, DelegationServer, mcpClient, startAndWait } from '../support/mcp';
import { Measured, metric } from '../support/results';
import { ServerUnderTest } from '../support/servers';
import { percentile, spread } from '../support/stats';

/**
 * The child every route starts: the scripted agent in the server's process, answering "Echo: <query>"
 * word by word ([[rate 0]]: at once, so the turn has no paced waits).
 * Its own work is well under a millisecond and steady, so what a route adds is not lost in an agent's
 * spread (a scripted-process child's spawn varies by a few ms; a real CLI's by hundreds).
 */
const CHILD = {
  provider: 'scripted',
  model: 'scripted',
  query: '[[rate 0]] summarise the child task',
};
/** JELMORE_DELEGATION_MAX_CHILDREN, set to its default: a parent is replaced before it runs out. */
const MAX_CHILDREN = 4;
/** Children each round starts with a parent's token (the connected and the fresh client). */
const TOKEN_ROUTES_PER_ROUND = 2;
/** Wait after a new parent's first turn, so its CLI's tail (transcript, MCP connect) costs no round. */
const SETTLE_MS = 300;

const ms = (from: bigint, to = process.hrtime.bigint()) => Number(to - from) / 1e6;
const sleep = (delay: number) => new Promise((resolve) => setTimeout(resolve, delay));

/** The routes from "the caller asks for a child" to "the caller has its final answer". */
const ROUTES = ['direct', 'connected', 'fresh', 'noToken'] as const;
type Route = (typeof ROUTES)[number];

/** Resolves a session's first `result` at the socket, with its arrival time; rejects on a failure. */
class Results {
  private readonly waiting = new Map<
    string,
    { resolve: (at: bigint) => void; reject: (err: Error) => void }
  >();

  constructor(socket: Socket) {
    onEvents(socket, (events, at) => {
      for (const event of events) {
        const waiter = this.waiting.get(event.sessionId);
        if (!waiter) continue;
        if (event.type === 'result') waiter.resolve(at);
        else if (failed(event)) waiter.reject(new Error(JSON.stringify(event)));
        else continue;
        this.waiting.delete(event.sessionId);
      }
    });
  }

  wait(sessionId: string): Promise<bigint> {
    return new Promise((resolve, reject) => this.waiting.set(sessionId, { resolve, reject }));
  }
}

const failed = (e: SessionEvent) =>
  e.type === 'error' || (e.type === 'status' && (e.to === 'failed' || e.to === 'terminated'));

/** A live delegating Claude session, the token its agent got, and a client connected with it. */
interface Parent {
  id: string;
  server: DelegationServer;
  client: Client;
  children: number;
}

/**
 * Delegation: what one delegation round trip adds over starting the same child directly, on one
 * Jelmore server. Per round, alternating the order: a child started over Socket.IO (session:create,
 * subscribe, until its `result` arrives: the baseline), and the same child through the MCP server with
 * start_session wait: true, until the tool's answer arrives, as a delegating agent calls it: with the
 * token Jelmore gave a live parent session (delegation: true, a budget), by a client connected once
 * (headline) and by a fresh client per call (connect + call); and without a token (the local admin of a
 * server with no API keys: no delegation checks), by a connected client.
 */
export async function delegation(ctx: BenchContext): Promise<Measured> {
  const rounds = ctx.quick ? 3 : 30;
  const warmUp = ctx.quick ? 1 : 3;
  const fake = new FakeAnthropicServer();
  const fakeUrl = await fake.start();
  const server = ServerUnderTest.jelmore(ctx.build, {
    cpus: ctx.serverCpus,
    nodeArgs: ctx.nodeArgs,
    env: {
      // The parents: Claude Code, whose command line carries the MCP config with the token.
      JELMORE_CLAUDE_ENABLED: 'true',
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'bench-key-not-secret',
      JELMORE_CLAUDE_WARM_POOL_SIZE: '0',
      JELMORE_DELEGATION_MAX_CHILDREN: String(MAX_CHILDREN),
    },
  });
  let socket: Socket | undefined;
  let parent: Parent | undefined;
  let noToken: Client | undefined;
  try {
    await server.start();
    const live = await connect(server.url);
    socket = live;
    const results = new Results(live);
    const parents: string[] = [];
    const listToolsMs: number[] = [];
    const parentStartMs: number[] = [];

    const retire = async (old: Parent) => {
      await old.client.close();
      await terminate(live, old.id);
      // Its CLI gone, so its exit costs the next rounds nothing.
      await eventually(() => processesMentioning(`--session-id ${old.id}`).length === 0, 15_000);
    };
    /** A parent with room for this round's children: the current one, or a new one. */
    const parentForRound = async (): Promise<Parent> => {
      if (parent && parent.children + TOKEN_ROUTES_PER_ROUND <= MAX_CHILDREN) return parent;
      if (parent) await retire(parent);
      parent = undefined;
      const t0 = process.hrtime.bigint();
      const { session } = await request<{ session: SessionResource }>(live, WsClientEvents.create, {
        provider: 'claude',
        query: 'hello',
        delegation: true,
        maxBudgetUsd: 100,
      });
      parents.push(session.id);
      const done = results.wait(session.id);
      await subscribe(live, session.id);
      await done;
      parentStartMs.push(ms(t0));
      let found: DelegationServer | undefined;
      await eventually(() => (found = delegationServerOf(session.id)) !== undefined, 10_000);
      if (!found) throw new Error(`no --mcp-config on the CLI of session ${session.id}`);
      const client = await mcpClient(found.url, found.token);
      // A CLI lists the tools once it is connected (and the SDK then checks each call's answer).
      const t1 = process.hrtime.bigint();
      await client.listTools();
      listToolsMs.push(ms(t1));
      parent = { id: session.id, server: found, client, children: 0 };
      await sleep(SETTLE_MS);
      return parent;
    };

    /** The same child over MCP; ends it (untimed) so that live sessions stay as many as direct's. */
    const viaMcp = async (client: Client, t0: bigint, expectParent?: string) => {
      const outcome = await startAndWait(client, CHILD);
      const elapsed = ms(t0);
      if (expectParent !== undefined && outcome.session.parentId !== expectParent)
        throw new Error(`child ${outcome.session.id} not under ${expectParent}`);
      await terminate(live, outcome.session.id);
      return { elapsed, childTurnMs: outcome.result!.durationMs };
    };

    const samples: Record<Route, number[]> = { direct: [], connected: [], fresh: [], noToken: [] };
    const connectMs: number[] = [];
    const childTurnMs: number[] = [];
    const run: Record<Route, (p: Parent) => Promise<number>> = {
      direct: async () => {
        const t0 = process.hrtime.bigint();
        const { session } = await request<{ session: SessionResource }>(
          live,
          WsClientEvents.create,
          CHILD,
        );
        const done = results.wait(session.id);
        await subscribe(live, session.id);
        const elapsed = ms(t0, await done);
        await terminate(live, session.id);
        return elapsed;
      },
      connected: async (p) => {
        p.children++;
        const { elapsed, childTurnMs: turn } = await viaMcp(
          p.client,
          process.hrtime.bigint(),
          p.id,
        );
        childTurnMs.push(turn);
        return elapsed;
      },
      fresh: async (p) => {
        p.children++;
        const t0 = process.hrtime.bigint();
        const client = await mcpClient(p.server.url, p.server.token);
        connectMs.push(ms(t0));
        try {
          return (await viaMcp(client, t0, p.id)).elapsed;
        } finally {
          await client.close();
        }
      },
      noToken: async () => (await viaMcp(noToken!, process.hrtime.bigint())).elapsed,
    };
    noToken = await mcpClient(`${server.url}/mcp`);
    await noToken.listTools();

    const round = async (i: number, record: boolean) => {
      const p = await parentForRound();
      // Rotate the order, so drift in load and what one route leaves behind hit all alike.
      const order = ROUTES.map((_, k) => ROUTES[(i + k) % ROUTES.length]);
      for (const route of order) {
        const elapsed = await run[route](p);
        if (record) samples[route].push(elapsed);
      }
    };
    // Warm-up, not counted: JIT on every path, the first parent's CLI in the page cache.
    for (let i = 0; i < warmUp; i++) await round(i, false);
    connectMs.length = childTurnMs.length = 0;
    await profiled(ctx, server, 'delegation', async () => {
      for (let i = 0; i < rounds; i++) await round(i, true);
    });

    const p = (route: Route, q: number) => percentile(samples[route], q);
    const added = (route: Route, q: number) => p(route, q) - p('direct', q);
    ctx.log(
      `  direct p50 ${p('direct', 50).toFixed(1)} ms; MCP with a parent's token p50 ${p('connected', 50).toFixed(1)} ms ` +
        `(connected client), ${p('fresh', 50).toFixed(1)} ms (fresh client); without a token ${p('noToken', 50).toFixed(1)} ms ` +
        `(${rounds} rounds, ${parents.length} parents)`,
    );
    const { direct, connected } = samples;
    return {
      metrics: [
        metric(
          'ask → child’s answer, p50 (direct → MCP start_session wait, connected client)',
          'ms',
          p('direct', 50),
          p('connected', 50),
        ),
        metric('ask → child’s answer, p90 (same)', 'ms', p('direct', 90), p('connected', 90)),
        metric(
          'ask → child’s answer, p50 (direct → MCP, fresh client: connect + call)',
          'ms',
          p('direct', 50),
          p('fresh', 50),
        ),
        metric('ask → child’s answer, p90 (fresh client)', 'ms', p('direct', 90), p('fresh', 90)),
        metric(
          'ask → child’s answer, p50 (direct → MCP without a token: no delegation checks)',
          'ms',
          p('direct', 50),
          p('noToken', 50),
        ),
      ],
      runs: { baseline: direct, jelmore: connected },
      noise: { baseline: spread(direct), jelmore: spread(connected) },
      details: {
        rounds,
        warmUpRounds: warmUp,
        child: CHILD,
        baseline:
          'session:create over Socket.IO, subscribe, until its result arrives: the same server',
        jelmore:
          "MCP start_session wait: true with a live delegating parent's token (Claude Code against " +
          'the fake model API, delegation: true, maxBudgetUsd 100), by one client connected per parent',
        parents: parents.length,
        maxChildrenPerParent: MAX_CHILDREN,
        addedP50Ms: {
          connected: added('connected', 50),
          fresh: added('fresh', 50),
          noToken: added('noToken', 50),
        },
        addedP90Ms: {
          connected: added('connected', 90),
          fresh: added('fresh', 90),
          noToken: added('noToken', 90),
        },
        /** The token's share: the delegation checks and the parent's child_session event. */
        delegationChecksP50Ms: p('connected', 50) - p('noToken', 50),
        freshClientConnectP50Ms: percentile(connectMs, 50),
        listToolsP50Ms: percentile(listToolsMs, 50),
        childTurnDurationP50Ms: percentile(childTurnMs, 50),
        parentFirstResultP50Ms: percentile(parentStartMs, 50),
        samples: Object.fromEntries(
          ROUTES.map((route) => [route, samples[route].map((v) => Math.round(v * 10) / 10)]),
        ),
      },
    };
  } catch (err) {
    let log = '';
    try {
      log = server.log.slice(-4000);
    } catch {
      // No log: the server never started.
    }
    throw new Error(`${String(err)}\n${log}`, { cause: err });
  } finally {
    if (parent && socket) await parent.client.close().catch(() => undefined);
    await noToken?.close().catch(() => undefined);
    socket?.disconnect();
    await server.stop();
    await fake.stop();
  }
}
