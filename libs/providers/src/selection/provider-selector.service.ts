import { Inject, Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { Interval } from '@nestjs/schedule';
import {
  AgentProviderPort,
  ModelInfo,
  ModelNotSupportedError,
  ProviderHealth,
  ProviderUnavailableError,
  RateLimitedError,
} from '@jelmore/contracts';
import { ProviderRegistry } from '../provider-registry.service';
import { PROVIDERS_MODULE_OPTIONS } from '../providers.module-definition';
import type { ProvidersModuleOptions } from '../providers.options';
import { CircuitBreaker, CircuitState } from './circuit-breaker';
import { RATE_LIMIT_CLOCK, RateWindow } from './rate-window';
import {
  ProviderCandidate,
  SELECTION_ALGORITHM,
  SelectionAlgorithm,
  SelectionRequest,
  SessionRequirements,
} from './selection.types';

const HEALTH_INTERVAL_MS = 15_000;

/**
 * Chooses the provider for a new session: explicit provider → model match → capability filter →
 * health and circuit → cost (when optimizing) → load (when balancing) → default provider. DESIGN.md
 * lists load before cost; cost comes first here, or balancing would make cost optimization moot.
 * `candidates()` returns every provider that may serve the request, best first, so a start that fails
 * can fall back to the next.
 */
@Injectable()
export class ProviderSelector implements OnApplicationBootstrap {
  private readonly logger = new Logger(ProviderSelector.name);
  private readonly circuits = new Map<string, CircuitBreaker>();
  private readonly health = new Map<string, ProviderHealth>();
  private readonly rates = new Map<string, RateWindow>();
  private algorithm?: SelectionAlgorithm;
  private turn = 0;

  constructor(
    private readonly registry: ProviderRegistry,
    @Inject(PROVIDERS_MODULE_OPTIONS) private readonly options: ProvidersModuleOptions,
    @Optional() @Inject(SELECTION_ALGORITHM) algorithm?: SelectionAlgorithm,
    @Optional() @Inject(RATE_LIMIT_CLOCK) private readonly now?: () => number,
  ) {
    this.algorithm = algorithm;
  }

  /**
   * The first check runs in the background: a provider still starting (opencode takes seconds) is not
   * held against it, and one that cannot serve refuses at createSession, so selection falls back anyway.
   */
  onApplicationBootstrap(): void {
    // A misspelt name would leave the provider it meant unlimited.
    for (const name of Object.keys(this.options.rateLimits?.sessionsPerWindow ?? {})) {
      if (!this.registry.has(name)) {
        this.logger.warn(
          `a session rate limit names '${name}', which is not a registered provider`,
        );
      }
    }
    this.refreshHealth().catch((err: unknown) =>
      this.logger.error(`health check failed: ${String(err)}`),
    );
  }

  /** Replaces the custom selection (null: the built-in order alone). */
  setSelectionAlgorithm(algorithm: SelectionAlgorithm | null): void {
    this.algorithm = algorithm ?? undefined;
  }

  circuit(provider: string): CircuitBreaker {
    let circuit = this.circuits.get(provider);
    if (!circuit) {
      circuit = new CircuitBreaker(this.options.circuit);
      this.circuits.set(provider, circuit);
    }
    return circuit;
  }

  circuitState(provider: string): CircuitState {
    return this.circuit(provider).state;
  }

  /**
   * Checks the provider's session-start rate; throws RateLimitedError when it is spent. Call the returned
   * function once the provider has accepted the session, so that a start it refused costs nothing.
   */
  admitStart(provider: string): () => void {
    const window = this.rateWindow(provider);
    if (!window) return () => undefined;
    const waitMs = window.waitMs();
    if (waitMs > 0) {
      const retryAfter = Math.ceil(waitMs / 1000);
      throw new RateLimitedError(
        `Provider '${provider}' started its ${window.limit} sessions per ${window.windowMs / 1000} s; the next may start in ${retryAfter} s`,
        retryAfter,
        { provider },
      );
    }
    return () => window.record();
  }

  private rateWindow(provider: string): RateWindow | undefined {
    let window = this.rates.get(provider);
    const limits = this.options.rateLimits;
    const limit = limits?.sessionsPerWindow[provider];
    if (!window && limits && limit !== undefined) {
      window = new RateWindow(limit, limits.windowMs, this.now);
      this.rates.set(provider, window);
    }
    return window;
  }

  /** Checks every provider now; selection uses the last answers between checks. */
  @Interval('provider-health', HEALTH_INTERVAL_MS)
  async refreshHealth(): Promise<Record<string, ProviderHealth>> {
    const all = await this.registry.healthCheckAll();
    for (const [name, health] of Object.entries(all)) {
      const was = this.health.get(name)?.healthy;
      this.health.set(name, health);
      if (was !== undefined && was !== health.healthy) {
        this.logger.warn(
          `provider ${name} is ${health.healthy ? 'healthy' : `unhealthy: ${health.reason}`}`,
        );
      }
    }
    return all;
  }

  lastHealth(provider: string): ProviderHealth | undefined {
    return this.health.get(provider);
  }

  /** Every provider that may serve the request, best first. Throws when none can. */
  candidates(request: SelectionRequest): ProviderCandidate[] {
    return this.select(request).candidates;
  }

  /**
   * The candidates, and why providers that meet the request were passed over (unhealthy, circuit open),
   * so a session can say what it fell back from.
   */
  select(request: SelectionRequest): { candidates: ProviderCandidate[]; skipped: string[] } {
    const requirements = request.requirements ?? {};
    if (request.provider) {
      const provider = this.registry.get(request.provider);
      const missing = missingCapabilities(provider, requirements);
      if (missing.length) {
        throw new ProviderUnavailableError(provider.name, `it lacks ${missing.join(', ')}`);
      }
      const model = this.modelFor(provider, request.model, requirements);
      if (!model && request.model) throw new ModelNotSupportedError(request.model, provider.name);
      if (!model || !fitsContext(model, requirements)) {
        throw new ProviderUnavailableError(
          provider.name,
          `no model with ${requirements.minContextTokens} tokens of context`,
        );
      }
      return { candidates: [{ provider, model }], skipped: [] };
    }
    let candidates = this.registry
      .list()
      .map((name) => this.registry.get(name))
      // Providers for demos and tests are used only when named (by provider or by model).
      .filter((provider) => provider.autoSelect !== false || request.model !== undefined)
      .map((provider) => ({
        provider,
        model: this.modelFor(provider, request.model, requirements),
      }))
      .filter((c): c is ProviderCandidate => c.model !== undefined);
    if (candidates.length === 0 && request.model) throw new ModelNotSupportedError(request.model);
    candidates = candidates.filter(
      (c) =>
        missingCapabilities(c.provider, requirements).length === 0 &&
        fitsContext(c.model, requirements),
    );
    if (candidates.length === 0) {
      throw new ProviderUnavailableError('any', `no provider meets ${describe(requirements)}`);
    }
    const all = this.order(candidates, requirements);
    const ordered = all.filter((c) => this.usable(c.provider.name));
    if (ordered.length === 0) {
      const reasons = all.map((c) => `${c.provider.name}: ${this.whyUnusable(c.provider.name)}`);
      throw new ProviderUnavailableError('any', `no provider is available (${reasons.join('; ')})`);
    }
    // Only those that would have come first were passed over; the rest were never in line.
    const skipped = all
      .slice(0, all.indexOf(ordered[0]))
      .map((c) => `${c.provider.name} skipped (${this.whyUnusable(c.provider.name)})`);
    return { candidates: this.applyAlgorithm(ordered, request), skipped };
  }

  private usable(name: string): boolean {
    return this.health.get(name)?.healthy !== false && this.circuit(name).allows();
  }

  private whyUnusable(name: string): string {
    const health = this.health.get(name);
    if (health?.healthy === false) return health.reason ?? 'unhealthy';
    return `circuit ${this.circuit(name).state}`;
  }

  /**
   * Price first (cheapest when optimizing cost, priciest for premium features), then load when
   * balancing (round robin among equals), else the default provider first, then registry order.
   */
  private order(
    candidates: ProviderCandidate[],
    requirements: SessionRequirements,
  ): ProviderCandidate[] {
    const byCost = this.options.costOptimization || requirements.costSensitive === true;
    const premium = !byCost && requirements.premiumFeatures === true;
    const balance = this.options.loadBalancing;
    const key = (c: ProviderCandidate): number[] => [
      byCost ? price(c.model) : premium ? -price(c.model) : 0,
      balance ? load(c.provider) : c.provider.name === this.options.defaultProvider ? 0 : 1,
    ];
    const sorted = candidates
      .map((c, i) => ({ c, i, k: key(c) }))
      .sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.i - b.i);
    if (!balance) return sorted.map((x) => x.c);
    // Round robin within each run of equal keys, so equally loaded providers take turns.
    const rotation = this.turn++;
    const result: ProviderCandidate[] = [];
    for (let start = 0; start < sorted.length;) {
      let end = start + 1;
      while (end < sorted.length && sorted[end].k.every((v, j) => v === sorted[start].k[j])) end++;
      const run = sorted.slice(start, end).map((x) => x.c);
      const shift = rotation % run.length;
      result.push(...run.slice(shift), ...run.slice(0, shift));
      start = end;
    }
    return result;
  }

  private applyAlgorithm(
    ordered: ProviderCandidate[],
    request: SelectionRequest,
  ): ProviderCandidate[] {
    if (!this.algorithm) return ordered;
    const chosen = this.algorithm(ordered, request);
    if (chosen === null) return ordered;
    const pick = ordered.find((c) => c.provider.name === chosen);
    if (!pick) {
      throw new ProviderUnavailableError(
        chosen,
        'the custom selection chose a provider that cannot serve this request',
      );
    }
    return [pick, ...ordered.filter((c) => c !== pick)];
  }

  /** The model a provider would use: the named one, else its default, else the one requirements call for. */
  private modelFor(
    provider: AgentProviderPort,
    model: string | undefined,
    requirements: SessionRequirements,
  ): ModelInfo | undefined {
    if (model) return provider.resolveModel(model);
    const fits = provider
      .models()
      .filter((m) => m.contextWindow >= (requirements.minContextTokens ?? 0));
    if (fits.length === 0) return undefined;
    if (requirements.costSensitive || this.options.costOptimization) {
      return [...fits].sort((a, b) => price(a) - price(b))[0];
    }
    if (requirements.premiumFeatures) return [...fits].sort((a, b) => price(b) - price(a))[0];
    const preferred = provider.resolveModel(undefined);
    return preferred && fits.some((m) => m.id === preferred.id) ? preferred : fits[0];
  }
}

function missingCapabilities(
  provider: AgentProviderPort,
  requirements: SessionRequirements,
): string[] {
  const caps = provider.capabilities;
  const missing: string[] = (requirements.capabilities ?? []).filter((name) => !caps[name]);
  if ((requirements.minContextTokens ?? 0) > caps.maxContextTokens)
    missing.push('the context required');
  return missing;
}

function fitsContext(model: ModelInfo, requirements: SessionRequirements): boolean {
  return model.contextWindow >= (requirements.minContextTokens ?? 0);
}

function describe(requirements: SessionRequirements): string {
  const parts: string[] = [...(requirements.capabilities ?? [])];
  if (requirements.minContextTokens)
    parts.push(`${requirements.minContextTokens} tokens of context`);
  return parts.join(', ') || 'the requirements';
}

function price(model: ModelInfo): number {
  return model.inputPricePerMTok + model.outputPricePerMTok;
}

function load(provider: AgentProviderPort): number {
  return (
    provider.metrics().activeSessions / Math.max(1, provider.capabilities.maxConcurrentSessions)
  );
}
