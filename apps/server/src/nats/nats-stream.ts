import type { Logger } from '@nestjs/common';
import type { JetStreamManager, StreamInfo } from '@nats-io/jetstream';
import type { SessionEvent } from '@jelmore/contracts';

export const SUBJECT_PREFIX = 'jelmore.sessions';
/** Every session event, whatever the session and type. */
export const SESSIONS_SUBJECTS = `${SUBJECT_PREFIX}.>`;

/** `jelmore.sessions.<sessionId>.<type>`: consumers filter one session with `jelmore.sessions.<id>.>`. */
export function eventSubject(event: SessionEvent): string {
  return `${SUBJECT_PREFIX}.${event.sessionId}.${event.type}`;
}

/** The Nats-Msg-Id: unique per event, so JetStream drops a re-publish inside its duplicate window. */
export function eventMsgId(event: SessionEvent): string {
  return `${event.sessionId}:${event.seq}`;
}

/** JetStream's "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Age after which the stream drops a message; 0 keeps them until other limits apply. */
  maxAgeSeconds: number;
}

/**
 * Creates the stream when it is missing and sets its subjects when they differ; other settings of an
 * existing stream (limits, replicas) are the operator's and are left alone.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  logger?: Logger,
): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(spec.name);
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    try {
      info = await jsm.streams.add({
        name: spec.name,
        subjects: spec.subjects,
        max_age: spec.maxAgeSeconds * 1e9,
      });
      logger?.log(`NATS stream ${spec.name} created for ${spec.subjects.join(', ')}`);
      return info;
    } catch (addErr) {
      // Another node created it first.
      const { JetStreamApiError } =
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@nats-io/jetstream') as typeof import('@nats-io/jetstream');
      if (!(addErr instanceof JetStreamApiError && addErr.code === STREAM_NAME_IN_USE))
        throw addErr;
      info = await jsm.streams.info(spec.name);
    }
  }
  const current = [...info.config.subjects].sort();
  const wanted = [...spec.subjects].sort();
  if (current.join('\n') !== wanted.join('\n')) {
    info = await jsm.streams.update(spec.name, { ...info.config, subjects: spec.subjects });
    logger?.warn(
      `NATS stream ${spec.name} subjects changed from ${current.join(', ')} to ${wanted.join(', ')}`,
    );
  }
  return info;
}

export function isStreamNotFound(err: unknown): boolean {
  const { JetStreamApiCodes, JetStreamApiError } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@nats-io/jetstream') as typeof import('@nats-io/jetstream');
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}
