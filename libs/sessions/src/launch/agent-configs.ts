import { Injectable } from '@nestjs/common';
import type { SessionConfig } from '@jelmore/contracts';
import { SessionRepositories } from '../git/session-repositories';
import type { SessionRecord } from '../store/session-record';
import { SessionDelegation } from './session-delegation';

/** What an agent is created with for a session: where it works, what it sees, who it works for. */
@Injectable()
export class AgentConfigs {
  constructor(
    private readonly repositories: SessionRepositories,
    private readonly delegation: SessionDelegation,
  ) {}

  /** The session's agent config, but the model (each provider candidate has its own). */
  of(
    session: Pick<
      SessionRecord,
      'id' | 'cwd' | 'owner' | 'permissions' | 'git' | 'delegation' | 'depth'
    >,
  ): Omit<SessionConfig, 'model'> {
    const mounts = this.repositories.mountsOf(session.git);
    const mcpServers = this.delegation.mcpServers(session);
    return {
      sessionId: session.id,
      cwd: session.cwd,
      ...(session.permissions ? { permissions: session.permissions } : {}),
      ...(session.owner ? { tenant: session.owner } : {}),
      ...(mounts ? { mounts } : {}),
      ...(mcpServers ? { mcpServers } : {}),
    };
  }
}
