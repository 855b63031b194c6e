import { Inject, Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Counter, Gauge } from 'prom-client';
import type { Subscription } from 'rxjs';
import type { SessionEvent } from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import { PrometheusService } from '../metrics/prometheus.service';
import { NATS_PUBLISHER_OPTIONS, type NatsPublisherOptions } from './nats.constants';
import { ensureStream, eventMsgId, eventSubject, SESSIONS_SUBJECTS } from './nats-stream';
import { PublishQueue, type SessionBatch } from './publish-queue';

/** In flight per session and per round: pipelined on one connection, so a session's order holds. */
const PER_SESSION = 64;
const PER_ROUND = 1024;
const PUBLISH_TIMEOUT_MS = 5_000;
const CONNECT_TIMEOUT_MS = 2_000;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** Repeated failures are logged at most this often. */
const FAILURE_LOG_INTERVAL_MS = 30_000;
const DRAIN_TIMEOUT_MS = 2_000;

export interface NatsPublisherState {
  connected: boolean;
  streamReady: boolean;
  pending: number;
  lastError?: string;
}

/**
 * Publishes every committed session event to JetStream as `jelmore.sessions.<id>.<type>` with the
 * message id `<id>:<seq>`. The session never waits for NATS: events go to a bounded queue that one loop
 * publishes, retrying with backoff while NATS is down; past the bound, new events are dropped and counted.
 */
@Injectable()
export class NatsPublisher implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(NatsPublisher.name);
  private readonly queue: PublishQueue;
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private connected = false;
  private streamReady = false;
  /** Shutdown began: the loop ends once the queue is empty. */
  private closing = false;
  /** The loop ends now, whatever is queued. */
  private stopped = false;
  private loop?: Promise<void>;
  private subscription?: Subscription;
  private waiting?: { idle: boolean; release: () => void };
  private failures = 0;
  private lastError?: string;
  private lastFailureLog = 0;
  private droppedSinceFull = 0;

  private readonly published: Counter;
  private readonly duplicates: Counter;
  private readonly dropped: Counter<'reason'>;
  private readonly publishFailures: Counter;

  constructor(
    @Inject(NATS_PUBLISHER_OPTIONS) private readonly options: NatsPublisherOptions,
    private readonly sessions: SessionsService,
    prometheus: PrometheusService,
  ) {
    this.queue = new PublishQueue(options.maxPending);
    const registers = [prometheus.registry];
    this.published = new Counter({
      name: 'jelmore_nats_events_published_total',
      help: 'Session events stored by JetStream',
      registers,
    });
    this.duplicates = new Counter({
      name: 'jelmore_nats_events_duplicate_total',
      help: 'Re-published events JetStream already had (an ack was lost), not stored twice',
      registers,
    });
    this.dropped = new Counter({
      name: 'jelmore_nats_events_dropped_total',
      help: 'Session events never published: queue_full (NATS too slow or down), shutdown (flush timed out)',
      labelNames: ['reason'],
      registers,
    });
    this.publishFailures = new Counter({
      name: 'jelmore_nats_publish_failures_total',
      help: 'Publish rounds that failed and were retried',
      registers,
    });
    const queue = this.queue;
    new Gauge({
      name: 'jelmore_nats_pending_events',
      help: 'Session events waiting to be published',
      registers,
      collect() {
        this.set(queue.size);
      },
    });
    const connected = () => this.connected;
    new Gauge({
      name: 'jelmore_nats_connected',
      help: 'Whether the NATS connection is up (1) or not (0)',
      registers,
      collect() {
        this.set(connected() ? 1 : 0);
      },
    });
  }

  async onModuleInit(): Promise<void> {
    this.subscription = this.sessions.committed$.subscribe(({ batch }) => {
      if (batch !== 'end') for (const event of batch) this.enqueue(event);
    });
    // Awaited once so the stream exists before the server takes traffic; when NATS is down the server
    // starts anyway (readiness says so) and the loop keeps trying.
    await this.prepare();
    this.loop = this.run();
  }

  /** After the sessions were suspended (beforeApplicationShutdown): flush, bounded, then drain. */
  async onApplicationShutdown(): Promise<void> {
    this.subscription?.unsubscribe();
    this.closing = true;
    if (this.waiting?.idle) this.waiting.release();
    const flushed = this.loop
      ? await settlesWithin(this.loop, this.options.flushTimeoutMs)
      : this.queue.size === 0;
    this.stopped = true;
    this.waiting?.release();
    const nc = this.nc;
    if (nc && !nc.isClosed()) {
      // Drain sends what the client buffered; close fails a publish still waiting for its ack.
      if (!(await settlesWithin(nc.drain(), DRAIN_TIMEOUT_MS))) await nc.close();
    }
    if (this.loop) await settlesWithin(this.loop, DRAIN_TIMEOUT_MS);
    const left = this.queue.clear();
    if (left > 0) {
      this.dropped.inc({ reason: 'shutdown' }, left);
      this.logger.error(
        `${left} events not published to NATS at shutdown (flush ${flushed ? 'ended' : `timed out after ${this.options.flushTimeoutMs} ms`}): ${this.lastError ?? 'no error seen'}`,
      );
    }
  }

  state(): NatsPublisherState {
    return {
      connected: this.connected,
      streamReady: this.streamReady,
      pending: this.queue.size,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  /** Round trip to the server, failing after `timeoutMs`. */
  async rtt(timeoutMs: number): Promise<number> {
    if (!this.nc || !this.connected) throw new Error('not connected');
    const rtt = this.nc.rtt();
    if (!(await settlesWithin(rtt, timeoutMs))) throw new Error(`no answer in ${timeoutMs} ms`);
    return rtt;
  }

  private enqueue(event: SessionEvent): void {
    if (this.queue.push(event)) {
      if (this.waiting?.idle) this.waiting.release();
      return;
    }
    this.dropped.inc({ reason: 'queue_full' });
    if (this.droppedSinceFull++ === 0) {
      this.logger.error(
        `NATS queue full (${this.options.maxPending} events): dropping new events until it drains (${this.lastError ?? 'NATS slower than the sessions'})`,
      );
    }
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      if (!(await this.prepare())) {
        await this.backoff();
        continue;
      }
      const batches = this.queue.take(PER_SESSION, PER_ROUND);
      if (batches.length === 0) {
        if (this.closing) return;
        await this.wait(undefined, true);
        continue;
      }
      if (await this.publish(batches)) {
        this.failures = 0;
        this.lastError = undefined;
        if (this.droppedSinceFull > 0 && this.queue.size < this.options.maxPending) {
          this.logger.warn(`NATS queue takes events again; ${this.droppedSinceFull} were dropped`);
          this.droppedSinceFull = 0;
        }
      } else {
        await this.backoff();
      }
    }
  }

  /** Connected, with the stream in place. Never throws: a failure is noted and retried by the loop. */
  private async prepare(): Promise<boolean> {
    try {
      if (!this.nc) await this.connect();
      // While the client reconnects by itself, publishing would only time out.
      if (!this.connected) return false;
      if (!this.streamReady) {
        await ensureStream(
          await natsJetstream().jetstreamManager(this.nc!),
          {
            name: this.options.stream,
            subjects: [SESSIONS_SUBJECTS],
            maxAgeSeconds: this.options.maxAgeSeconds,
          },
          this.logger,
        );
        this.streamReady = true;
      }
      return true;
    } catch (err) {
      this.noteFailure(err);
      return false;
    }
  }

  private async connect(): Promise<void> {
    // Loaded only with JELMORE_NATS_URL (this service exists only then), at the first connection.
    const { connect } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('@nats-io/transport-node') as typeof import('@nats-io/transport-node');
    const nc = await connect({
      servers: this.options.url,
      name: this.options.connectionName,
      timeout: CONNECT_TIMEOUT_MS,
      // Once connected, the client reconnects forever; the loop only makes the first connection.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
    if (this.stopped) {
      await nc.close();
      return;
    }
    this.nc = nc;
    this.js = natsJetstream().jetstream(nc);
    this.connected = true;
    this.logger.log(`NATS connected to ${nc.getServer()}, stream ${this.options.stream}`);
    void this.watch(nc);
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.lastError = `disconnected from ${status.server}`;
        this.logger.warn(`NATS disconnected from ${status.server}; reconnecting`);
      } else if (status.type === 'reconnect') {
        this.connected = true;
        // Another server of the cluster, or one restarted without its streams: check again.
        this.streamReady = false;
        this.logger.log(`NATS reconnected to ${status.server}`);
        this.waiting?.release();
      }
    }
    // The iterator ends when the connection is closed for good.
    if (this.nc === nc) {
      this.nc = undefined;
      this.js = undefined;
      this.connected = false;
      this.streamReady = false;
    }
  }

  /** Publishes the batches; acknowledged events leave the queue. False if any failed. */
  private async publish(batches: SessionBatch[]): Promise<boolean> {
    const js = this.js!;
    const rounds = batches.map(({ sessionId, events }) => ({
      sessionId,
      acks: events.map((event) =>
        js.publish(eventSubject(event), JSON.stringify(event), {
          msgID: eventMsgId(event),
          timeout: PUBLISH_TIMEOUT_MS,
        }),
      ),
    }));
    let failure: unknown;
    for (const { sessionId, acks } of rounds) {
      const results = await Promise.allSettled(acks);
      // Only the prefix before a failure leaves the queue: the rest is sent again, in order, and
      // JetStream drops any of it it already stored (same message id).
      let done = 0;
      for (const result of results) {
        if (result.status === 'rejected') {
          failure ??= result.reason;
          break;
        }
        if (result.value.duplicate) this.duplicates.inc();
        done++;
      }
      this.queue.ack(sessionId, done);
      this.published.inc(done);
    }
    if (failure === undefined) return true;
    this.publishFailures.inc();
    // The stream may be gone or the server changed: the next round checks before publishing.
    this.streamReady = false;
    this.noteFailure(failure);
    return false;
  }

  private noteFailure(err: unknown): void {
    this.failures++;
    this.lastError = err instanceof Error ? err.message : String(err);
    const now = Date.now();
    if (this.failures === 1 || now - this.lastFailureLog >= FAILURE_LOG_INTERVAL_MS) {
      this.lastFailureLog = now;
      this.logger.warn(
        `NATS publishing failed (${this.failures} in a row, ${this.queue.size} events kept): ${this.lastError}`,
      );
    }
  }

  private backoff(): Promise<void> {
    const ms = Math.min(BACKOFF_MIN_MS * 2 ** Math.max(0, this.failures - 1), BACKOFF_MAX_MS);
    return this.wait(ms, false);
  }

  /** Sleeps `ms` (or until released when undefined); an idle wait also ends when an event comes. */
  private wait(ms: number | undefined, idle: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const release = () => {
        clearTimeout(timer);
        if (this.waiting?.release === release) this.waiting = undefined;
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(release, ms);
      this.waiting = { idle, release };
    });
  }
}

/** Whether the promise settled within `ms`; the timer never outlives it. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** @nats-io/jetstream, loaded on first use. */
function natsJetstream(): typeof import('@nats-io/jetstream') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@nats-io/jetstream') as typeof import('@nats-io/jetstream');
}
