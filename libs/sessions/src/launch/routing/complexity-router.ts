import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { SessionRouting, TurnContent } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../../sessions.module-definition';
import type { SessionsModuleOptions } from '../../sessions.options';
import { scoreComplexity } from './complexity-scorer';
import { CLASSIFIER_TIMEOUT_MS, COMPLEXITY_CLASSIFIER } from './routing.constants';
import type {
  ComplexityClassifier,
  ComplexityRoutingPolicy,
  ModelTarget,
} from './traffic-policies';

/** The tier a first query was put in, and the model configured for it (none: the default model). */
export interface RoutedTier {
  routing: SessionRouting;
  target?: ModelTarget & { model: string };
}

/** The tier reported when the classifier failed and the session took the default model. */
export const DEFAULT_TIER = 'default';

const MAX_REASON = 500;

/** A query's text (its text blocks, one after another) and how many attachments it has. */
export function queryText(query: TurnContent): { text: string; attachments: number } {
  if (typeof query === 'string') return { text: query, attachments: 0 };
  const texts = query.flatMap((block) => (block.type === 'text' ? [block.text] : []));
  return { text: texts.join('\n\n'), attachments: query.length - texts.length };
}

/**
 * Routing by complexity: puts a new session's first query in a tier of `routing.complexity`, by the
 * built-in scorer or the operator's classifier (COMPLEXITY_CLASSIFIER, or setClassifier).
 */
@Injectable()
export class ComplexityRouter {
  private readonly logger = new Logger(ComplexityRouter.name);
  private readonly policy?: ComplexityRoutingPolicy;

  constructor(
    @Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions,
    @Optional() @Inject(COMPLEXITY_CLASSIFIER) private classifier?: ComplexityClassifier,
  ) {
    this.policy = options.traffic?.routing;
  }

  /** Replaces the classifier (null: the built-in scorer). */
  setClassifier(classifier: ComplexityClassifier | null): void {
    this.classifier = classifier ?? undefined;
  }

  /** The query's tier and its model; undefined when routing by complexity is not configured. */
  async route(
    query: TurnContent,
    owner: string | undefined,
    sessionId: string,
  ): Promise<RoutedTier | undefined> {
    if (!this.policy) return undefined;
    const { text, attachments } = queryText(query);
    if (!this.classifier) {
      const verdict = scoreComplexity(text, attachments);
      return this.withModel(verdict);
    }
    const tiers = Object.keys(this.policy.tiers);
    let answer: unknown;
    try {
      answer = await withTimeout(
        Promise.resolve(this.classifier({ text, attachments, owner, tiers })),
        CLASSIFIER_TIMEOUT_MS,
      );
    } catch (err) {
      // Its error is the operator's to read (it may name their services), not the client's.
      const error = err instanceof Error ? err.message : String(err);
      return this.fallBack(
        sessionId,
        err === TIMED_OUT ? 'the classifier did not answer in time' : 'the classifier failed',
        error,
      );
    }
    const problem = nonsense(answer, tiers);
    if (problem) return this.fallBack(sessionId, `the classifier answered ${problem}`);
    const { tier, score, reason } = answer as SessionRouting;
    return this.withModel({
      tier,
      ...(score !== undefined ? { score } : {}),
      ...(reason !== undefined ? { reason: reason.slice(0, MAX_REASON) } : {}),
    });
  }

  private withModel(routing: SessionRouting): RoutedTier {
    const target = this.policy?.tiers[routing.tier];
    if (target) return { routing, target };
    // The built-in scorer's tier that the configuration leaves out.
    const why = `no model for tier ${routing.tier}: the default model`;
    return { routing: { ...routing, reason: routing.reason ? `${routing.reason}; ${why}` : why } };
  }

  private fallBack(sessionId: string, why: string, error?: string): RoutedTier {
    const reason = `${why.slice(0, MAX_REASON)}; the default model`;
    this.logger.warn({ msg: 'routing fell back to the default model', sessionId, reason, error });
    return { routing: { tier: DEFAULT_TIER, reason } };
  }
}

/** What is wrong with a classifier's answer, if anything. */
function nonsense(answer: unknown, tiers: readonly string[]): string | undefined {
  if (!answer || typeof answer !== 'object' || Array.isArray(answer)) {
    return `${describe(answer)}, not { tier, score?, reason? }`;
  }
  const { tier, score, reason } = answer as Record<string, unknown>;
  if (typeof tier !== 'string' || !tiers.includes(tier)) {
    return `tier ${describe(tier)}, not one of ${tiers.join(', ')}`;
  }
  if (score !== undefined && (typeof score !== 'number' || !Number.isFinite(score))) {
    return `score ${describe(score)}, not a number`;
  }
  if (reason !== undefined && typeof reason !== 'string') {
    return `reason ${describe(reason)}, not a string`;
  }
  return undefined;
}

function describe(value: unknown): string {
  return (JSON.stringify(value) ?? String(value)).slice(0, 64);
}

const TIMED_OUT = new Error('no answer in time');

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
