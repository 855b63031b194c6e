/** Options of the NATS event sink, derived from the configuration in AppModule. */
export const NATS_PUBLISHER_OPTIONS = Symbol('NATS_PUBLISHER_OPTIONS');

export interface NatsPublisherOptions {
  /** `nats://host:port`. */
  url: string;
  /** JetStream stream holding `jelmore.sessions.>`; created at boot when missing. */
  stream: string;
  /** max_age of a stream this node creates; 0 keeps messages until other limits apply. */
  maxAgeSeconds: number;
  /** Events kept while NATS is slow or down; past it new events are dropped and counted. */
  maxPending: number;
  /** How long shutdown waits for the queue to empty before it drains the connection. */
  flushTimeoutMs: number;
  /** Shown by the NATS server (connz) for this connection. */
  connectionName: string;
}

export const DEFAULT_NATS_STREAM = 'JELMORE_SESSIONS';
export const DEFAULT_NATS_MAX_PENDING = 50_000;
export const DEFAULT_NATS_FLUSH_TIMEOUT_MS = 5_000;
