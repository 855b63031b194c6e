import type { Socket } from 'socket.io-client';
import type { SessionResource } from '../../libs/contracts/src/session';
import { WsClientEvents } from '../../libs/contracts/src/ws-protocol';
import { FakeAnthropicServer } from '../../test/fixtures/fake-anthropic';
import { connect, onEvents, request, subscribe, terminate } from './client';
import type { BenchContext } from './context';
import { ServerUnderTest } from './servers';

const QUERY = 'hello';
const ms = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e6;

/**
 * Jelmore servers of one build, each with its own environment on top of the same Claude settings and
 * one fake model API, and a socket to each that reports sessions' first assistant events: for the
 * benchmarks that compare two values of a setting (warm pool, sandbox) in the same run.
 */
export class ClaudeServers<Side extends string> {
  private readonly sockets = new Map<Side, Socket>();
  private readonly firstEvents = new Map<string, () => void>();

  private constructor(
    private readonly fake: FakeAnthropicServer,
    /** The fake model API, for a runner that drives the CLI itself. */
    readonly fakeUrl: string,
    readonly servers: Record<Side, ServerUnderTest>,
  ) {}

  static async start<Side extends string>(
    ctx: BenchContext,
    sides: Record<Side, Record<string, string>>,
  ): Promise<ClaudeServers<Side>> {
    const fake = new FakeAnthropicServer();
    const fakeUrl = await fake.start();
    const env = {
      JELMORE_CLAUDE_ENABLED: 'true',
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'bench-key-not-secret',
    };
    const servers = Object.fromEntries(
      Object.entries<Record<string, string>>(sides).map(([side, extra]) => [
        side,
        ServerUnderTest.jelmore(ctx.build, {
          cpus: ctx.serverCpus,
          nodeArgs: ctx.nodeArgs,
          env: { ...env, ...extra },
        }),
      ]),
    ) as Record<Side, ServerUnderTest>;
    const pair = new ClaudeServers(fake, fakeUrl, servers);
    try {
      await Promise.all(Object.values<ServerUnderTest>(servers).map((s) => s.start()));
      for (const side of Object.keys(servers) as Side[]) await pair.open(side);
    } catch (err) {
      await pair.stop();
      throw err;
    }
    return pair;
  }

  /** session:create → the first assistant event at the client, as the startup benchmark measures it. */
  async firstEvent(side: Side): Promise<{ firstEventMs: number; ackMs: number; id: string }> {
    const socket = this.sockets.get(side)!;
    const t0 = process.hrtime.bigint();
    const { session } = await request<{ session: SessionResource }>(socket, WsClientEvents.create, {
      provider: 'claude',
      query: QUERY,
    });
    const ackMs = ms(t0);
    const first = new Promise<void>((resolve) => this.firstEvents.set(session.id, resolve));
    await subscribe(socket, session.id);
    await first;
    const firstEventMs = ms(t0);
    this.firstEvents.delete(session.id);
    await terminate(socket, session.id);
    return { firstEventMs, ackMs, id: session.id };
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets.values()) socket.disconnect();
    await Promise.all(Object.values<ServerUnderTest>(this.servers).map((s) => s.stop()));
    await this.fake.stop();
  }

  private async open(side: Side): Promise<void> {
    const socket = await connect(this.servers[side].url);
    this.sockets.set(side, socket);
    onEvents(socket, (events) => {
      for (const event of events)
        if (event.type === 'assistant') this.firstEvents.get(event.sessionId)?.();
    });
  }
}
