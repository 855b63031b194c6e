import { Inject, Injectable } from '@nestjs/common';
import {
  type ExperimentArmReport,
  type ExperimentReport,
  NotFoundError,
  ZERO_USAGE,
} from '@jelmore/contracts';
import { LIVE_STATES } from '../../sessions.constants';
import { SESSIONS_MODULE_OPTIONS } from '../../sessions.module-definition';
import type { SessionsModuleOptions } from '../../sessions.options';
import type { SessionActor } from '../../sessions.types';
import { ExperimentRecords } from '../../store/experiment-records';
import type { ExperimentPolicy } from './traffic-policies';

/** GET /v1/experiments/:name: each arm's sessions, turns, failures, usage and median turn duration. */
@Injectable()
export class ExperimentReports {
  private readonly experiments: readonly ExperimentPolicy[];

  constructor(
    private readonly records: ExperimentRecords,
    @Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions,
  ) {
    this.experiments = options.traffic?.experiments ?? [];
  }

  /** Of the actor's own sessions (an admin's: every owner's); an unknown name is NOT_FOUND. */
  async report(name: string, actor?: SessionActor): Promise<ExperimentReport> {
    const policy = this.experiments.find((e) => e.name === name);
    if (!policy) throw new NotFoundError(`No experiment '${name}' is configured`);
    const owner = actor && !actor.admin ? actor.id : undefined;
    const [totals, durations] = await Promise.all([
      this.records.totals(name, LIVE_STATES, owner),
      this.records.turnDurations(name, owner),
    ]);
    const arms = policy.arms.map((arm): ExperimentArmReport => {
      const of = totals.find((t) => t.arm === arm.name);
      return {
        name: arm.name,
        ...(arm.provider !== undefined ? { provider: arm.provider } : {}),
        ...(arm.model !== undefined ? { model: arm.model } : {}),
        weight: arm.weight,
        sessions: of?.sessions ?? 0,
        active: of?.active ?? 0,
        turns: of?.turns ?? 0,
        failures: of?.failures ?? 0,
        usage: of?.usage ?? { ...ZERO_USAGE },
        medianTurnMs: median(durations.get(arm.name) ?? []),
      };
    });
    return { name, sticky: policy.sticky, arms };
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
