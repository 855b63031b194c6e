import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { CheckedTurn } from '../attachments/attachments.service';
import { SessionCache } from '../cache/session-cache.service';
import { SessionBudgets } from '../budgets/session-budgets.service';
import {
  type SessionPlace,
  SessionRepositories,
  worktreeNeedsRepository,
} from '../git/session-repositories';
import { SessionTurns } from '../runtime/session-turns.service';
import { SessionWorkspaces } from '../session-workspaces';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { CreateSessionInput } from '../sessions.types';
import type { SessionRecord } from '../store/session-record';
import type { Selection } from './provider-candidates';
import { SessionTraffic } from './routing/session-traffic';
import { type ChildPlacement, SessionDelegation } from './session-delegation';

/** What a new session will be, decided before its agent starts. */
export interface SessionPlan {
  id: string;
  turn: CheckedTurn;
  selection: Selection;
  /** Where it stands under the session whose agent starts it, if one does. */
  child: ChildPlacement | undefined;
  delegation: boolean;
  /** Its folder (made), and its worktree or repository when it has one. */
  place: SessionPlace;
  /** How routing by complexity chose its model, and its experiment's arm, when they did. */
  traffic: Pick<SessionRecord, 'routing' | 'experiment' | 'cache'>;
}

/**
 * Decides what a new session will be: whether its owner and first turn may start it, its experiment
 * arm and tier (SessionTraffic), its provider candidates, its place in a delegation tree, its id and
 * its folder. Refusals come from here, before any agent starts; the only thing made is the folder
 * (SessionRepositories.discard undoes it).
 */
@Injectable()
export class SessionPlanner {
  constructor(
    private readonly traffic: SessionTraffic,
    private readonly budgets: SessionBudgets,
    private readonly turns: SessionTurns,
    private readonly delegation: SessionDelegation,
    private readonly repositories: SessionRepositories,
    private readonly workspaces: SessionWorkspaces,
    private readonly cache: SessionCache,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  async plan(input: CreateSessionInput): Promise<SessionPlan> {
    this.cache.check(input);
    if (input.owner) await this.budgets.checkOwner(input.owner);
    const turn = await this.turns.check(input.query, input.actor);
    // Its id unless an agent started ahead brings one; an arm sticky by session is hashed from it.
    const given = randomUUID();
    const { selection, routing, experiment, keepsId } = await this.traffic.select(
      input,
      turn.needs,
      given,
    );
    const child = await this.delegation.placement(input);
    const delegation = this.delegation.delegates(input);
    const isolation = input.isolation ?? this.options.defaultIsolation;
    // Before the session's own folder is made: a worktree is made from a repository the cwd is in.
    if (isolation === 'worktree' && input.cwd === undefined) throw worktreeNeedsRepository();
    // Warm start: the first candidate may have an agent started ahead for this request, under its own id
    // (never for a worktree or a delegating agent, which are made for the session, nor for one whose
    // experiment arm was chosen by its id).
    const [first] = selection.candidates;
    const id =
      (isolation === 'none' && !delegation && !keepsId
        ? first?.provider.claimWarmSession?.({
            model: first.model.id,
            cwd: input.cwd,
            permissions: input.permissions,
          })
        : undefined) ?? given;
    const place = await this.repositories.prepare(
      id,
      await this.workspaces.resolve(id, input.cwd, input.owner),
      isolation,
      input.baseRef,
    );
    const traffic = {
      routing: routing ?? null,
      experiment: experiment ?? null,
      cache: input.cache === true,
    };
    return { id, turn, selection, child, delegation, place, traffic };
  }
}
