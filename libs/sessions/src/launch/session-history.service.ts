import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  AgentProviderPort,
  ErrorCode,
  NotFoundError,
  RewindResult,
  SessionConfig,
  SessionError,
  SessionResource,
  SuspendedState,
} from '@jelmore/contracts';
import { ProviderRegistry } from '@jelmore/providers';
import { SessionBudgets } from '../budgets/session-budgets.service';
import { ClusterRouting } from '../cluster/cluster-routing.service';
import { EventLog } from '../events/event-log.service';
import { SessionCheckpoints } from '../git/session-checkpoints';
import { SessionPlace, SessionRepositories } from '../git/session-repositories';
import { AgentEventPump } from '../runtime/agent-event-pump.service';
import { SessionControl } from '../runtime/session-control.service';
import { notActive, SessionRuntimes } from '../runtime/session-runtimes.service';
import { SessionTransitions } from '../runtime/session-transitions.service';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { SessionActor } from '../sessions.types';
import { type SessionRecord, startingRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';
import { AgentConfigs } from './agent-configs';
import { SessionLauncher } from './session-launcher.service';

/**
 * A session's way back and its branches: rewind puts its files (and, where the provider can, its
 * conversation) back to a turn; fork starts a new session from its conversation and files at a turn.
 */
@Injectable()
export class SessionHistory {
  private readonly rewinding = new Set<string>();

  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly registry: ProviderRegistry,
    private readonly runtimes: SessionRuntimes,
    private readonly transitions: SessionTransitions,
    private readonly launcher: SessionLauncher,
    private readonly control: SessionControl,
    private readonly routing: ClusterRouting,
    private readonly pump: AgentEventPump,
    private readonly budgets: SessionBudgets,
    private readonly checkpoints: SessionCheckpoints,
    private readonly repositories: SessionRepositories,
    private readonly configs: AgentConfigs,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  /**
   * A new session, idle, whose conversation is the parent's first `turn` turns (default: all) and whose
   * files are the parent's at that turn, in a worktree of its own. The parent is left as it is.
   */
  async fork(parentId: string, turn: number | undefined, actor?: SessionActor) {
    const parent = await this.runtimes.record(parentId, actor);
    const provider = this.forkingProvider(parent);
    const at = turn ?? parent.turns;
    if (at < 1 || at > parent.turns) {
      throw new NotFoundError(
        `Session ${parent.id} has no turn ${at} to fork from (it has ${parent.turns})`,
        ErrorCode.CheckpointNotFound,
      );
    }
    const checkpoint = parent.git ? await this.checkpoints.get(parent, at) : undefined;
    if (parent.owner) await this.budgets.checkOwner(parent.owner);
    const id = randomUUID();
    let place: SessionPlace = { cwd: parent.cwd, git: null };
    if (parent.git && checkpoint) {
      const { git } = parent;
      if (git.base === null) {
        throw new SessionError(
          `Session ${parent.id}'s repository has no commit to branch from`,
          parent.provider,
          parent.id,
          ErrorCode.WorktreeUnavailable,
        );
      }
      const main = git.worktree?.repository ?? git.topLevel;
      place = await this.repositories.addWorktree(
        id,
        { topLevel: main, commonDir: git.commonDir, gitDir: git.commonDir, prefix: git.prefix },
        git.base,
      );
    }
    let record: SessionRecord;
    try {
      if (place.git && checkpoint) {
        await this.checkpoints.materialize(parent, checkpoint.commit, place.git);
      }
      const state = await provider.forkConversation!(
        suspendedStateOf(parent),
        at,
        this.configFor(parent, id, place),
      );
      record = startingRecord({
        id,
        owner: parent.owner,
        provider: parent.provider,
        model: state.model,
        cwd: place.cwd,
        providerRef: state.providerRef ?? null,
        suspendedState: state,
        nodeId: this.options.nodeId,
        maxBudgetUsd: parent.maxBudgetUsd,
        permissions: parent.permissions,
        title: parent.title,
        isolation: place.git?.worktree ? 'worktree' : 'none',
        git: place.git,
        parentId: parent.id,
        forkedFromTurn: at,
        turns: at,
        delegation: parent.delegation,
        depth: parent.depth,
      });
      await this.store.insertSession(record);
    } catch (err) {
      await this.repositories.discard(id, place.git);
      throw err;
    }
    await this.log.open(id, record);
    await this.transitions.transition(record, 'starting', `forked from ${parent.id} at turn ${at}`);
    await this.checkpoints.begin(record);
    await this.transitions.transition(record, 'suspended', 'forked');
    await this.log.release(id);
    return this.launcher.resume(record);
  }

  /**
   * Puts the session's files back as they were at the end of `turn`, and its conversation too where
   * the provider can (its agent is restarted for that). The session must not be running a turn.
   */
  async rewind(id: string, turn: number, actor?: SessionActor): Promise<RewindResult> {
    const record = await this.runtimes.record(id, actor);
    // One at a time: a second would find the first one's agent suspended under it.
    if (this.rewinding.has(id)) throw notActive(record, 'is being rewound');
    this.rewinding.add(id);
    try {
      return await this.rewindNow(record, turn, actor);
    } finally {
      this.rewinding.delete(id);
    }
  }

  private async rewindNow(
    record: SessionRecord,
    turn: number,
    actor?: SessionActor,
  ): Promise<RewindResult> {
    const { id } = record;
    await this.checkpoints.get(record, turn);
    const provider = this.registry.has(record.provider)
      ? this.registry.get(record.provider)
      : undefined;
    // Turn 0 has no conversation to cut back to: its files come back, the conversation stays.
    const cuts = turn >= 1 && Boolean(provider?.capabilities.rewind && provider.rewindConversation);
    const runtime = this.runtimes.get(id);
    if (runtime && !['idle', 'stopped'].includes(runtime.state)) {
      throw notActive(record, `is ${record.state}; rewind it when it is idle`);
    }
    if (!runtime && !['idle', 'suspended', 'interrupted'].includes(record.state)) {
      throw notActive(
        record,
        `is ${record.state}; only idle, suspended or interrupted sessions rewind`,
      );
    }
    if (!cuts && runtime) {
      // Input that arrives while the files change waits for them, as behind a turn.
      runtime.hold();
      try {
        return await this.restoreKeepingConversation(record, turn);
      } finally {
        // Lets go of the hold: what was queued meanwhile runs now.
        await this.pump.release(runtime);
      }
    }
    if (!cuts) {
      if (record.state === 'idle') throw notActive(record, 'runs on another node; rewind it there');
      return this.restoreKeepingConversation(record, turn);
    }
    // The agent holds the conversation in memory: it stops, the conversation is cut, a new one resumes.
    const wasLive = record.state === 'idle';
    if (runtime) await this.control.suspend(id, `rewinding to turn ${turn}`);
    else if (wasLive)
      await this.routing.forwarded(id, actor, {
        op: 'suspend',
        sessionId: id,
        reason: `rewinding to turn ${turn}`,
      });
    record = await this.runtimes.record(id);
    let state: SuspendedState;
    try {
      state = await provider!.rewindConversation!(
        suspendedStateOf(record),
        turn,
        this.configFor(record, record.id, { cwd: record.cwd, git: record.git }),
      );
    } catch (err) {
      // Nothing changed: the session goes on as it was.
      if (wasLive) await this.launcher.resume(record);
      throw err;
    }
    const filesChanged = await this.checkpoints.restore(record, turn, true);
    record.suspendedState = state;
    record.providerRef = state.providerRef ?? record.providerRef;
    await this.store.updateSession(id, {
      suspendedState: state,
      providerRef: record.providerRef,
    });
    const session: SessionResource = wasLive
      ? await this.launcher.resume(record)
      : await this.runtimes.resource(record);
    return { session, turn, filesChanged, conversation: 'truncated' };
  }

  private async restoreKeepingConversation(
    record: SessionRecord,
    turn: number,
  ): Promise<RewindResult> {
    const filesChanged = await this.checkpoints.restore(record, turn, false);
    const session = await this.runtimes.resource(record);
    return { session, turn, filesChanged, conversation: 'kept' };
  }

  private forkingProvider(record: SessionRecord): AgentProviderPort {
    const provider = this.registry.has(record.provider)
      ? this.registry.get(record.provider)
      : undefined;
    if (provider?.capabilities.fork && provider.forkConversation) return provider;
    throw new SessionError(
      `Provider '${record.provider}' cannot fork a conversation (capabilities.fork is false)`,
      record.provider,
      record.id,
      ErrorCode.ForkUnsupported,
    );
  }

  private configFor(record: SessionRecord, sessionId: string, place: SessionPlace): SessionConfig {
    return {
      ...this.configs.of({ ...record, id: sessionId, cwd: place.cwd, git: place.git }),
      model: record.model,
    };
  }
}

/** What the provider needs to find a session's conversation, running or not. */
function suspendedStateOf(record: SessionRecord): SuspendedState {
  const saved = record.suspendedState;
  return {
    provider: record.provider,
    model: saved?.model ?? record.model,
    cwd: saved?.cwd ?? record.cwd,
    ...((saved?.providerRef ?? record.providerRef)
      ? { providerRef: saved?.providerRef ?? record.providerRef ?? undefined }
      : {}),
    ...(saved?.data ? { data: saved.data } : {}),
  };
}
