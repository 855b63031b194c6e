import { Subject } from 'rxjs';
import type { SessionEvent, SessionEventDraft } from '@jelmore/contracts';
import type { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import type {
  CommittedBatch,
  SessionCache,
  SessionRecord,
  SessionsService,
} from '@jelmore/sessions';
import { PrometheusService } from './prometheus.service';

const CREATED_AT = '2026-01-01T00:00:00.000Z';

function session(id: string): SessionRecord {
  return { id, provider: 'scripted', model: 'scripted', createdAt: CREATED_AT } as SessionRecord;
}

let seq = 0;
function event(sessionId: string, draft: SessionEventDraft, ts = CREATED_AT): SessionEvent {
  return { sessionId, seq: ++seq, ts, ...draft };
}

const text = (sessionId: string, ts?: string) =>
  event(sessionId, { type: 'assistant', text: 'hi' }, ts);

/** The value of one sample of the exposition text, 0 when absent. */
function sample(exposition: string, key: string): number {
  const line = exposition.split('\n').find((l) => l.startsWith(`${key} `));
  return line ? Number(line.slice(key.length + 1)) : 0;
}

describe('PrometheusService', () => {
  let committed: Subject<CommittedBatch>;
  let metrics: PrometheusService;

  beforeEach(() => {
    committed = new Subject<CommittedBatch>();
    // The log's fan-out is the input; no provider, pool or cache has anything to report here.
    metrics = new PrometheusService(
      { committed$: committed.asObservable() } as SessionsService,
      { list: () => [] } as unknown as ProviderRegistry,
      {} as ProviderSelector,
      { stats: { hits: 0, misses: 0, savedUsd: 0 } } as SessionCache,
    );
    metrics.onModuleInit();
  });

  afterEach(() => metrics.onModuleDestroy());

  it('counts each committed event once by type, however the scrapes fall', async () => {
    const a = session('a');
    committed.next({
      sessionId: 'a',
      record: a,
      batch: [event('a', { type: 'status', from: null, to: 'starting' }), text('a'), text('a')],
    });
    let scraped = await metrics.metrics();
    expect(sample(scraped, 'jelmore_events_total{type="assistant"}')).toBe(2);
    expect(sample(scraped, 'jelmore_events_total{type="status"}')).toBe(1);

    committed.next({ sessionId: 'a', record: a, batch: [text('a')] });
    committed.next({ sessionId: 'a', record: a, batch: [text('a'), text('a')] });
    // Another node's batch (relayed, no record) and a session's end are not this node's events.
    committed.next({ sessionId: 'b', batch: [text('b')] });
    committed.next({ sessionId: 'a', record: a, batch: 'end' });
    scraped = await metrics.metrics();
    expect(sample(scraped, 'jelmore_events_total{type="assistant"}')).toBe(5);
    expect(sample(scraped, 'jelmore_events_total{type="status"}')).toBe(1);
    // A scrape with nothing new changes nothing.
    expect(sample(await metrics.metrics(), 'jelmore_events_total{type="assistant"}')).toBe(5);
  });

  it('times the first text of each session only, after the texts that follow it are skipped', async () => {
    for (const id of ['a', 'b']) {
      committed.next({
        sessionId: id,
        record: session(id),
        batch: [event(id, { type: 'status', from: null, to: 'starting' })],
      });
    }
    committed.next({
      sessionId: 'a',
      record: session('a'),
      batch: [text('a', '2026-01-01T00:00:00.300Z'), text('a', '2026-01-01T00:00:09.000Z')],
    });
    committed.next({ sessionId: 'a', record: session('a'), batch: [text('a')] });
    committed.next({
      sessionId: 'b',
      record: session('b'),
      batch: [text('b', '2026-01-01T00:00:00.200Z')],
    });

    const scraped = await metrics.metrics();
    const firstEvent = 'jelmore_session_first_event_seconds';
    expect(sample(scraped, `${firstEvent}_count{provider="scripted"}`)).toBe(2);
    expect(sample(scraped, `${firstEvent}_sum{provider="scripted"}`)).toBeCloseTo(0.5, 6);
    expect(sample(scraped, 'jelmore_sessions_created_total{provider="scripted"}')).toBe(2);
  });
});
