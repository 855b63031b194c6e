import { Inject, Injectable, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { killLeftover, ProviderRegistry } from '@jelmore/providers';
import type { SessionsCluster } from '../cluster/sessions-cluster';
import { EventLog } from '../events/event-log.service';
import { SessionRepositories } from '../git/session-repositories';
import { SessionRuntimes } from '../runtime/session-runtimes.service';
import { SessionTransitions } from '../runtime/session-transitions.service';
import { LIVE_STATES, SESSIONS_CLUSTER } from '../sessions.constants';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import { SessionStore } from '../store/session-store';

/**
 * Sessions left live by a previous process of this node were cut off: they are marked interrupted (a
 * client may resume them) and their leftover agents are ended. In a cluster, other nodes' sessions are
 * theirs (or, if they died, the reaper's).
 */
@Injectable()
export class BootRecovery implements OnApplicationBootstrap {
  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly runtimes: SessionRuntimes,
    private readonly transitions: SessionTransitions,
    private readonly registry: ProviderRegistry,
    private readonly repositories: SessionRepositories,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
    @Optional() @Inject(SESSIONS_CLUSTER) private readonly cluster?: SessionsCluster,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    for (const record of await this.store.listSessions({ states: LIVE_STATES })) {
      if (this.runtimes.has(record.id)) continue;
      if (this.cluster && record.nodeId !== null && record.nodeId !== this.options.nodeId) continue;
      if (record.agentPid) killLeftover(record.agentPid, this.processNames(record.provider));
      await this.log.open(record.id, record);
      await this.transitions.transition(record, 'interrupted', 'server restarted');
    }
    // Worktrees of sessions that ended, or never began, while no server ran them.
    await this.repositories.sweep();
  }

  /** What the provider's agents' command lines contain; none for a provider no longer configured. */
  private processNames(provider: string): readonly string[] {
    return this.registry.has(provider) ? (this.registry.get(provider).processNames ?? []) : [];
  }
}
