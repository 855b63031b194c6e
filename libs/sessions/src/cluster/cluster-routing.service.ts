import {
  Inject,
  Injectable,
  Logger,
  OnModuleDestroy,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { EventLog } from '../events/event-log.service';
import { SessionControl } from '../runtime/session-control.service';
import { notActive, SessionRuntimes } from '../runtime/session-runtimes.service';
import { LIVE_STATES, SESSIONS_CLUSTER } from '../sessions.constants';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { SessionActor } from '../sessions.types';
import { SessionStore } from '../store/session-store';
import type { ClusterCommand, SessionsCluster } from './sessions-cluster';

/**
 * In cluster mode (SESSIONS_CLUSTER provided): commands for sessions of other live nodes go to them,
 * this node's committed batches go to the others, and sessions of lost nodes are marked interrupted.
 * Without a cluster, every session is this node's and nothing here does anything.
 */
@Injectable()
export class ClusterRouting implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ClusterRouting.name);
  private relay?: Subscription;

  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly runtimes: SessionRuntimes,
    private readonly control: SessionControl,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
    @Optional() @Inject(SESSIONS_CLUSTER) private readonly cluster?: SessionsCluster,
  ) {}

  onModuleInit(): void {
    const cluster = this.cluster;
    if (!cluster) return;
    this.relay = this.log.committed$.subscribe(({ sessionId, batch }) =>
      cluster.publish(sessionId, batch),
    );
    cluster.join({
      execute: (command) => this.execute(command),
      deliver: (sessionId, batch) => this.log.deliver(sessionId, batch),
      reapLostNodes: () => this.reapLostNodes(),
    });
  }

  onModuleDestroy(): void {
    this.relay?.unsubscribe();
  }

  /**
   * True when the command went to the node that runs the session's agent. A session left by a node
   * that died is marked interrupted first, and then handled here like any other (false).
   */
  async forwarded(
    id: string,
    actor: SessionActor | undefined,
    command: ClusterCommand,
  ): Promise<boolean> {
    if (!this.cluster || this.runtimes.has(id)) return false;
    const record = await this.runtimes.record(id, actor);
    const owner = record.nodeId;
    if (owner === null || owner === this.options.nodeId || !LIVE_STATES.includes(record.state))
      return false;
    if (await this.cluster.isAlive(owner)) {
      await this.cluster.forward(owner, command);
      return true;
    }
    await this.reapNode(owner);
    return false;
  }

  /** Runs a command another node forwarded (its caller was authorized there). */
  private async execute(command: ClusterCommand): Promise<void> {
    const { sessionId } = command;
    if (!this.runtimes.has(sessionId)) {
      const record = await this.runtimes.record(sessionId);
      throw notActive(record, `does not run on node ${this.options.nodeId}`);
    }
    switch (command.op) {
      case 'input':
        return this.control.input(sessionId, command.content, undefined, command.mode);
      case 'interrupt':
        return this.control.interrupt(sessionId);
      case 'suspend':
        await this.control.suspend(sessionId, command.reason);
        return;
      case 'terminate':
        await this.control.terminate(sessionId, command.reason);
        return;
      case 'permission':
        return this.control.replyPermission(sessionId, command.requestId, {
          allow: command.allow,
          ...(command.reason ? { reason: command.reason } : {}),
        });
    }
  }

  /** Sessions of nodes whose lease expired are marked interrupted, so any node can resume them. */
  private async reapLostNodes(): Promise<number> {
    const cluster = this.cluster!;
    const orphans = await this.store.listSessionsByState(LIVE_STATES, {
      exceptNodeIds: [this.options.nodeId],
    });
    const nodes = new Set(orphans.map((r) => r.nodeId).filter((n): n is string => n !== null));
    let reaped = 0;
    for (const node of nodes) {
      if (!(await cluster.isAlive(node))) reaped += await this.reapNode(node);
    }
    return reaped;
  }

  private async reapNode(nodeId: string): Promise<number> {
    const now = new Date().toISOString();
    // Conditional: of two nodes reaping at once, each session is reported by one.
    const changed = await this.store.markInterrupted(nodeId, {
      fromStates: LIVE_STATES,
      updatedAt: now,
    });
    for (const { id, from } of changed) {
      const record = await this.store.getSession(id);
      if (!record) continue;
      const reason = `node ${nodeId} was lost`;
      this.logger.warn({ msg: 'session state', sessionId: id, from, to: 'interrupted', reason });
      await this.log.open(id, record);
      await this.log.append(id, { type: 'status', from, to: 'interrupted', reason });
      await this.log.release(id);
    }
    return changed.length;
  }
}
