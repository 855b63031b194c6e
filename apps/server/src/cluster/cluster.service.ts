import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { Namespace } from 'socket.io';
import { ErrorCode, JelmoreError, SessionEvent } from '@jelmore/contracts';
import type { ClusterCommand, ClusterMember, SessionsCluster } from '@jelmore/sessions';
import { JelmoreConfig } from '../config/jelmore.config';

const COMMAND_TIMEOUT_MS = 10_000;
const EVENTS = 'jelmore:events';
const COMMAND = 'jelmore:command';
const REPLY = 'jelmore:reply';

interface CommandMessage {
  to: string;
  from: string;
  requestId: string;
  command: ClusterCommand;
}

interface ReplyMessage {
  to: string;
  requestId: string;
  error?: { code: ErrorCode; message: string };
}

interface PendingReply {
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Cluster mode over Redis: the Socket.IO Redis streams adapter carries every node's committed events
 * and the commands routed to a session's owner (server-side emits on the /sessions namespace), and a
 * lease key per node (`jelmore:node:<id>`, renewed at a third of its life) tells live nodes from lost
 * ones, whose sessions are then marked interrupted for any node to resume.
 *
 * Why the streams adapter and not the pub/sub one: a Redis stream keeps what was published while a
 * node's reader was reconnecting, so a short Redis outage loses no relayed batch (and the event log
 * fills any gap from the store anyway).
 */
@Injectable()
export class ClusterService implements SessionsCluster, OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ClusterService.name);
  readonly redis: Redis;
  private readonly nodeId: string;
  private readonly leaseMs: number;
  private namespace?: Namespace;
  private readonly replies = new Map<string, PendingReply>();
  /** Nodes seen without a lease, and since when: one missed renewal (a Redis restart) is not death. */
  private readonly missingSince = new Map<string, number>();
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;
  private adapterClient?: Redis;
  private ticking = false;
  /** This node's sessions, once their module has started (see join). */
  private member?: ClusterMember;

  constructor(config: JelmoreConfig) {
    this.nodeId = config.nodeId;
    this.leaseMs = config.nodeLeaseSeconds * 1000;
    // Loaded only in cluster mode (ioredis brings @opentelemetry/api): ~1.5 MB of heap otherwise unused.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Redis } = require('ioredis') as typeof import('ioredis');
    this.redis = new Redis(config.redisUrl!, {
      // During an outage a command fails after a few reconnect attempts (a few seconds) instead of
      // hanging: a relayed batch that fails is read from the store by the subscriber instead.
      maxRetriesPerRequest: 2,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
      connectionName: `jelmore-${this.nodeId}`,
    });
    this.redis.on('error', (err: Error) => this.logger.warn(`redis: ${err.message}`));
  }

  /** For the Socket.IO server, before the /sessions namespace is made. */
  adapter(): ReturnType<typeof createAdapter> {
    const client = this.redis.duplicate();
    this.adapterClient = client;
    client.on('error', () => undefined); // reported once, by the main client
    // The adapter sends its heartbeats with PUBLISH and leaves the promise unhandled: during a Redis
    // outage that rejection would end the process. A missed heartbeat is harmless; count it as sent.
    const publish = client.publish.bind(client) as (...args: unknown[]) => Promise<number>;
    (client as unknown as { publish: (...args: unknown[]) => Promise<number> }).publish = (
      ...args
    ) => publish(...args).catch(() => 0);
    const { createAdapter } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@socket.io/redis-streams-adapter') as typeof import('@socket.io/redis-streams-adapter');
    return createAdapter(client, { streamName: 'jelmore:socket.io', onlyPlaintext: true });
  }

  async onModuleInit(): Promise<void> {
    await this.renewLease();
    this.heartbeat = setInterval(() => void this.tick(), Math.max(1000, this.leaseMs / 3));
  }

  join(member: ClusterMember): void {
    this.member = member;
  }

  /** Called by the gateway once its namespace (and so the adapter) exists. */
  attach(namespace: Namespace): void {
    this.namespace = namespace;
    // Before the sessions joined, nobody here subscribes to anything yet.
    namespace.on(EVENTS, (sessionId: string, batch: SessionEvent[] | 'end') =>
      this.member?.deliver(sessionId, batch),
    );
    namespace.on(COMMAND, (message: CommandMessage) => void this.run(message));
    namespace.on(REPLY, (message: ReplyMessage) => this.settle(message));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async isAlive(nodeId: string): Promise<boolean> {
    if (nodeId === this.nodeId) return true;
    if ((await this.redis.exists(leaseKey(nodeId))) === 1) {
      this.missingSince.delete(nodeId);
      return true;
    }
    const since = this.missingSince.get(nodeId) ?? Date.now();
    this.missingSince.set(nodeId, since);
    return Date.now() - since < this.leaseMs;
  }

  forward(nodeId: string, command: ClusterCommand): Promise<void> {
    const namespace = this.namespace;
    if (!namespace) return Promise.reject(unavailable(nodeId, 'this node is not connected yet'));
    const requestId = randomUUID();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.replies.delete(requestId);
        reject(unavailable(nodeId, `no answer in ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      this.replies.set(requestId, { resolve, reject, timer });
      const message: CommandMessage = { to: nodeId, from: this.nodeId, requestId, command };
      namespace.serverSideEmit(COMMAND, message);
    });
  }

  publish(sessionId: string, batch: SessionEvent[] | 'end'): void {
    this.namespace?.serverSideEmit(EVENTS, sessionId, batch);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const [id, pending] of this.replies) {
      clearTimeout(pending.timer);
      pending.reject(unavailable(this.nodeId, 'this node is shutting down'));
      this.replies.delete(id);
    }
    // Its sessions are suspended by now: give up the lease so nobody waits for it to expire (unless
    // Redis is down: then the lease expires on its own).
    await Promise.race([
      this.redis.del(leaseKey(this.nodeId)).catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    this.redis.disconnect();
    this.adapterClient?.disconnect();
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.ticking) return;
    this.ticking = true;
    try {
      await this.renewLease();
      const reaped = (await this.member?.reapLostNodes()) ?? 0;
      if (reaped > 0) this.logger.warn(`${reaped} sessions of lost nodes marked interrupted`);
    } catch (err) {
      this.logger.warn(
        `cluster heartbeat failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    } finally {
      this.ticking = false;
    }
  }

  private async renewLease(): Promise<void> {
    await this.redis.set(leaseKey(this.nodeId), String(process.pid), 'PX', this.leaseMs);
  }

  private async run(message: CommandMessage): Promise<void> {
    if (message.to !== this.nodeId) return;
    const reply: ReplyMessage = { to: message.from, requestId: message.requestId };
    try {
      if (!this.member) throw unavailable(this.nodeId, 'its sessions have not started yet');
      await this.member.execute(message.command);
    } catch (err) {
      reply.error =
        err instanceof JelmoreError
          ? { code: err.code, message: err.message }
          : { code: ErrorCode.Internal, message: 'Internal error' };
      if (!(err instanceof JelmoreError))
        this.logger.error(`forwarded command failed: ${String(err)}`);
    }
    this.namespace?.serverSideEmit(REPLY, reply);
  }

  private settle(message: ReplyMessage): void {
    if (message.to !== this.nodeId) return;
    const pending = this.replies.get(message.requestId);
    if (!pending) return;
    this.replies.delete(message.requestId);
    clearTimeout(pending.timer);
    if (message.error) pending.reject(new JelmoreError(message.error.code, message.error.message));
    else pending.resolve();
  }
}

function leaseKey(nodeId: string): string {
  return `jelmore:node:${nodeId}`;
}

function unavailable(nodeId: string, why: string): JelmoreError {
  return new JelmoreError(ErrorCode.NodeUnavailable, `Node ${nodeId} is unavailable: ${why}`);
}
