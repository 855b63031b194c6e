import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { SessionEvent } from '@jelmore/contracts';
import { ensureStream, eventMsgId, eventSubject, isStreamNotFound } from './nats-stream';

// The real NATS of the machine; this spec's stream has its own name and subjects and is deleted after.
const NATS = '127.0.0.1:4222';

describe('ensureStream (real NATS JetStream)', () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const tag = `${process.pid}_${Date.now()}`;
  const name = `JELMORE_SPEC_${tag}`;
  const subjects = [`jelmore-spec.${tag}.>`];

  beforeAll(async () => {
    try {
      nc = await connect({ servers: NATS, timeout: 3000 });
    } catch (err) {
      throw new Error(`NATS with JetStream must run on ${NATS} for this spec: ${String(err)}`, {
        cause: err,
      });
    }
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await jsm?.streams.delete(name).catch(() => undefined);
    await nc?.drain();
  });

  it('creates the stream when missing, with its subjects and max age', async () => {
    const missing = await jsm.streams.info(name).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isStreamNotFound(missing)).toBe(true);
    const info = await ensureStream(jsm, { name, subjects, maxAgeSeconds: 60 });
    expect(info.config).toMatchObject({ name, subjects, max_age: 60e9 });
    expect((await jsm.streams.info(name)).config.subjects).toEqual(subjects);
  });

  it('leaves a stream with the same subjects alone, limits set by an operator included', async () => {
    await jsm.streams.update(name, { max_msgs: 1234 });
    const info = await ensureStream(jsm, { name, subjects, maxAgeSeconds: 60 });
    expect(info.config.max_msgs).toBe(1234);
  });

  it('sets the subjects when they differ, keeping the other settings', async () => {
    await jsm.streams.update(name, { subjects: [`jelmore-spec.${tag}.old.>`] });
    const info = await ensureStream(jsm, { name, subjects, maxAgeSeconds: 60 });
    expect(info.config.subjects).toEqual(subjects);
    expect(info.config.max_msgs).toBe(1234);
  });

  it('two nodes booting at once both succeed', async () => {
    await jsm.streams.delete(name);
    const [a, b] = await Promise.all([
      ensureStream(jsm, { name, subjects, maxAgeSeconds: 0 }),
      ensureStream(jsm, { name, subjects, maxAgeSeconds: 0 }),
    ]);
    expect(a.config.name).toBe(name);
    expect(b.config.name).toBe(name);
  });
});

describe('subjects and message ids', () => {
  it('put the session and type in the subject, the session and seq in the id', () => {
    const event: SessionEvent = {
      sessionId: '0b6c3c2e-6f1e-4b43-9a36-2a7d1c8f4e10',
      seq: 42,
      ts: new Date(0).toISOString(),
      type: 'tool_result',
      toolUseId: 't1',
      output: '',
      isError: false,
    };
    expect(eventSubject(event)).toBe(
      'jelmore.sessions.0b6c3c2e-6f1e-4b43-9a36-2a7d1c8f4e10.tool_result',
    );
    expect(eventMsgId(event)).toBe('0b6c3c2e-6f1e-4b43-9a36-2a7d1c8f4e10:42');
  });
});
