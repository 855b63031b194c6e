import { Inject, Injectable } from '@nestjs/common';
import { addUsage, BudgetExceededError, UsageEvent, ZERO_USAGE } from '@jelmore/contracts';
import { EventLog } from '../events/event-log.service';
import { SessionDelegation } from '../launch/session-delegation';
import type { SessionRuntime } from '../runtime/session-runtime';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import type { SessionsModuleOptions } from '../sessions.options';
import type { SessionRecord } from '../store/session-record';
import { SessionStore } from '../store/session-store';

/** What a session may spend (`maxBudgetUsd`) and what its owner's key may spend across its sessions. */
@Injectable()
export class SessionBudgets {
  constructor(
    private readonly store: SessionStore,
    private readonly log: EventLog,
    private readonly delegation: SessionDelegation,
    @Inject(SESSIONS_MODULE_OPTIONS) private readonly options: SessionsModuleOptions,
  ) {}

  /** Throws when the owner (API key) has spent its budget, if it has one. */
  async checkOwner(owner: string): Promise<void> {
    const error = await this.ownerError(owner);
    if (error) throw error;
  }

  /** Throws when the session, or its owner, has nothing left for another turn. */
  async checkInput(record: SessionRecord): Promise<void> {
    const budget = record.maxBudgetUsd;
    const spent = budget === null ? 0 : await this.delegation.spentWithChildren(record, 0);
    if (budget !== null && spent >= budget) {
      throw new BudgetExceededError('session', budget, spent);
    }
    if (record.owner) await this.checkOwner(record.owner);
  }

  /**
   * Counts a usage event: an estimate towards the running turn, the provider's figure into the session's
   * usage (which settles the turn's estimates). Then stops a session that spent a budget.
   */
  async account(runtime: SessionRuntime, usage: UsageEvent): Promise<void> {
    const { record } = runtime;
    if (usage.estimated) {
      runtime.estimate = addUsage(runtime.estimate, usage);
    } else {
      record.usage = addUsage(record.usage, usage);
      runtime.estimate = { ...ZERO_USAGE };
      await this.store.updateSession(record.id, { usage: record.usage });
    }
    await this.enforce(runtime);
  }

  /**
   * A session that spent its budget, or its key's, stops its turn and takes no more input. Checked on
   * every usage event, estimates included, so a turn stops between two model calls; reported once.
   */
  private async enforce(runtime: SessionRuntime): Promise<void> {
    const { record } = runtime;
    if (!runtime.can('budgetStop')) return;
    // What the sessions its agent started spent counts too (delegation).
    const spent =
      record.maxBudgetUsd === null
        ? 0
        : await this.delegation.spentWithChildren(record, runtime.estimate.costUsd);
    const error =
      record.maxBudgetUsd !== null && spent >= record.maxBudgetUsd
        ? new BudgetExceededError('session', record.maxBudgetUsd, spent)
        : record.owner
          ? await this.ownerError(record.owner, runtime.estimate.costUsd)
          : undefined;
    // Checked again: the runtime may have been stopped or ended while the owner's spending was read.
    if (!error || !runtime.can('budgetStop')) return;
    const interrupt = runtime.budgetStop();
    this.log
      .append(record.id, { type: 'error', code: error.code, message: error.message })
      .catch(() => undefined);
    if (interrupt) await runtime.agent.interrupt();
  }

  /** `pending`: spending not in the store yet (the running turn's estimate). */
  private async ownerError(owner: string, pending = 0): Promise<BudgetExceededError | undefined> {
    const limit = this.options.ownerBudgetsUsd[owner];
    if (limit === undefined) return undefined;
    const spent = (await this.store.costByOwner(owner)) + pending;
    return spent >= limit
      ? new BudgetExceededError('key', limit, Math.round(spent * 1e9) / 1e9)
      : undefined;
  }
}
