import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Subscription } from 'rxjs';
import { SessionEvent, TERMINAL_STATES } from '@jelmore/contracts';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import { SessionCache, SessionRecord, SessionsService } from '@jelmore/sessions';

const CIRCUIT_VALUES = { closed: 0, 'half-open': 1, open: 2 } as const;
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32];
const TURN_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];
/** Sessions of an A/B experiment carry these labels too (absent on the others). */
const EXPERIMENT_LABELS = ['experiment', 'arm'] as const;

/** Prometheus metrics, fed by the committed event stream of every session. Names start with jelmore_. */
@Injectable()
export class PrometheusService implements OnModuleInit, OnModuleDestroy {
  readonly registry = new Registry();
  private subscription?: Subscription;
  /** Sessions whose first assistant event has not been seen yet. */
  private readonly awaitingFirstEvent = new Set<string>();

  private readonly created = new Counter({
    name: 'jelmore_sessions_created_total',
    help: 'Sessions started, by provider (and experiment and arm)',
    labelNames: ['provider', ...EXPERIMENT_LABELS],
    registers: [this.registry],
  });
  private readonly ended = new Counter({
    name: 'jelmore_sessions_ended_total',
    help: 'Sessions that ended, by provider and outcome (terminated, failed) (and experiment and arm)',
    labelNames: ['provider', 'outcome', ...EXPERIMENT_LABELS],
    registers: [this.registry],
  });
  /**
   * Events committed since the last scrape, by type. Counted in a Map and added to the counter when it is
   * read: a labelled inc() hashes its labels (sorted, joined) at every event, 1,000s a second.
   */
  private readonly eventCounts = new Map<string, number>();
  private readonly events = new Counter({
    name: 'jelmore_events_total',
    help: 'Session events committed, by type',
    labelNames: ['type'],
    registers: [this.registry],
    collect: () => {
      for (const [type, count] of this.eventCounts) this.events.inc({ type }, count);
      this.eventCounts.clear();
    },
  });
  private readonly startup = new Histogram({
    name: 'jelmore_session_startup_seconds',
    help: 'From session creation to the running state',
    labelNames: ['provider'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly firstEvent = new Histogram({
    name: 'jelmore_session_first_event_seconds',
    help: 'From session creation to its first assistant text',
    labelNames: ['provider'],
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  private readonly tokens = new Counter({
    name: 'jelmore_tokens_total',
    help: 'Model tokens, by provider, model and direction (input, output) (and experiment and arm)',
    labelNames: ['provider', 'model', 'direction', ...EXPERIMENT_LABELS],
    registers: [this.registry],
  });
  private readonly cost = new Counter({
    name: 'jelmore_cost_usd_total',
    help: 'Model cost in USD, by provider and model (and experiment and arm)',
    labelNames: ['provider', 'model', ...EXPERIMENT_LABELS],
    registers: [this.registry],
  });
  private readonly turns = new Counter({
    name: 'jelmore_turns_total',
    help: 'Turns that ended (results), by provider, model and outcome (completed, interrupted, cached) (and experiment and arm)',
    labelNames: ['provider', 'model', 'outcome', ...EXPERIMENT_LABELS],
    registers: [this.registry],
  });
  private readonly turnDuration = new Histogram({
    name: 'jelmore_turn_duration_seconds',
    help: 'Duration of the turns that ran to their end, by provider and model (and experiment and arm)',
    labelNames: ['provider', 'model', ...EXPERIMENT_LABELS],
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  private readonly routed = new Counter({
    name: 'jelmore_sessions_routed_total',
    help: 'Sessions whose model routing by complexity chose, by tier (default: the classifier failed)',
    labelNames: ['tier'],
    registers: [this.registry],
  });

  constructor(
    private readonly sessions: SessionsService,
    providers: ProviderRegistry,
    selector: ProviderSelector,
    cache: SessionCache,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'jelmore_' });
    new Gauge({
      name: 'jelmore_sessions_active',
      help: 'Sessions with a live agent, by provider',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const name of providers.list())
          this.set({ provider: name }, providers.get(name).metrics().activeSessions);
      },
    });
    new Gauge({
      name: 'jelmore_provider_healthy',
      help: 'Whether the provider passed its last health check (1) or not (0)',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const name of providers.list()) {
          const health = selector.lastHealth(name);
          if (health) this.set({ provider: name }, health.healthy ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'jelmore_provider_circuit_state',
      help: 'Circuit breaker per provider: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const name of providers.list())
          this.set({ provider: name }, CIRCUIT_VALUES[selector.circuitState(name)]);
      },
    });
    this.warmPoolMetrics(providers);
    this.cacheMetrics(cache);
  }

  /** The response cache counts; these mirror its totals at each scrape. */
  private cacheMetrics(cache: SessionCache): void {
    const mirror = (name: string, help: string, value: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(value());
        },
      });
    mirror('jelmore_cache_hits_total', 'Turns the response cache replayed', () => cache.stats.hits);
    mirror(
      'jelmore_cache_misses_total',
      'Turns of cached sessions the response cache had no recording of (run by the agent)',
      () => cache.stats.misses,
    );
    mirror(
      'jelmore_cache_saved_usd_total',
      'What the replayed turns cost when they ran, in USD',
      () => cache.stats.savedUsd,
    );
  }

  /** Providers that start agents ahead of their sessions (warm start): their pools' figures. */
  private warmPoolMetrics(providers: ProviderRegistry): void {
    const pools = () =>
      providers.list().flatMap((provider) => {
        const pool = providers.get(provider).metrics().warmPool;
        return pool ? [{ provider, pool }] : [];
      });
    new Gauge({
      name: 'jelmore_warm_pool_ready',
      help: 'Agents started ahead and waiting for a session, by provider',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        for (const { provider, pool } of pools()) this.set({ provider }, pool.ready);
      },
    });
    // The pools count; these counters only mirror their totals at each scrape.
    new Counter({
      name: 'jelmore_warm_pool_hits_total',
      help: 'Sessions that started on an agent started ahead, by provider',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { provider, pool } of pools()) this.inc({ provider }, pool.hits);
      },
    });
    new Counter({
      name: 'jelmore_warm_pool_misses_total',
      help: 'New sessions that found no matching agent started ahead, by provider and reason (empty, model, cwd, settings)',
      labelNames: ['provider', 'reason'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { provider, pool } of pools())
          for (const [reason, count] of Object.entries(pool.misses))
            this.inc({ provider, reason }, count);
      },
    });
    new Counter({
      name: 'jelmore_warm_pool_replaced_total',
      help: 'Agents started ahead that died while waiting and were replaced, by provider',
      labelNames: ['provider'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const { provider, pool } of pools()) this.inc({ provider }, pool.replaced);
      },
    });
  }

  onModuleInit(): void {
    this.subscription = this.sessions.committed$.subscribe(({ record, batch }) => {
      // Only sessions of this node's log (opened with their record) are counted, each event once.
      if (batch === 'end' || !record) return;
      for (const event of batch) {
        this.eventCounts.set(event.type, (this.eventCounts.get(event.type) ?? 0) + 1);
        // Most events are texts after the first: nothing else to count.
        if (event.type !== 'assistant' || this.awaitingFirstEvent.size > 0)
          this.observe(record, event);
      }
    });
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private observe(record: SessionRecord, event: SessionEvent): void {
    const provider = record.provider;
    const model = record.model;
    const arm = () =>
      record.experiment ? { experiment: record.experiment.name, arm: record.experiment.arm } : {};
    const sinceCreation = () => (Date.parse(event.ts) - Date.parse(record.createdAt)) / 1000;
    switch (event.type) {
      case 'status':
        if (event.from === null && event.to === 'starting') {
          this.created.inc({ provider, ...arm() });
          // A fallback to another provider says `from: null` again: the session is routed once.
          if (event.routing && !this.awaitingFirstEvent.has(record.id)) {
            this.routed.inc({ tier: event.routing.tier });
          }
          this.awaitingFirstEvent.add(record.id);
        } else if (event.from === 'starting' && event.to === 'running') {
          this.startup.observe({ provider }, sinceCreation());
        } else if (TERMINAL_STATES.has(event.to)) {
          this.ended.inc({ provider, outcome: event.to, ...arm() });
          this.awaitingFirstEvent.delete(record.id);
        }
        break;
      case 'assistant':
        if (this.awaitingFirstEvent.delete(record.id))
          this.firstEvent.observe({ provider }, sinceCreation());
        break;
      case 'usage':
        // An estimate is settled by the provider's figure for the turn, which is counted instead.
        if (event.estimated) break;
        this.tokens.inc({ provider, model, direction: 'input', ...arm() }, event.inputTokens);
        this.tokens.inc({ provider, model, direction: 'output', ...arm() }, event.outputTokens);
        this.cost.inc({ provider, model, ...arm() }, event.costUsd);
        break;
      case 'result':
        this.turns.inc({
          provider,
          model,
          outcome: event.interrupted ? 'interrupted' : event.cached ? 'cached' : 'completed',
          ...arm(),
        });
        // A replayed turn took no model time: it would pull the durations down.
        if (!event.interrupted && !event.cached) {
          this.turnDuration.observe({ provider, model, ...arm() }, event.durationMs / 1000);
        }
        break;
      default:
        break;
    }
  }
}
