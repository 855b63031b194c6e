import { tmpdir } from 'node:os';
import { Logger } from '@nestjs/common';
import type { SessionEvent } from '@jelmore/contracts';
import {
  DEFAULT_SESSIONS_OPTIONS,
  EventLog,
  SessionsService,
  SessionStore,
} from '@jelmore/sessions';
import { EventStore } from '../../../../libs/sessions/src/store/event-store';
import {
  sessionRecord,
  STORE_ADAPTERS,
  useStoreDatabase,
} from '../../../../test/support/store-databases';
import { loadConfig } from '../config/jelmore.config';
import { type CommittedEvents, CommittedSessions } from './committed-sessions';

const config = loadConfig({
  JELMORE_API_KEYS: 'alice:alice-key-0123456789,ops:ops-key-0123456789:admin',
});

/** What a listener was handed, and what it logged; `next()` resolves at the next of either. */
class Received {
  readonly handled: Array<{ session: string; owners: string[]; texts: string[] }> = [];
  readonly errors: string[] = [];
  private wake?: () => void;

  logged = (message: unknown): void => this.add(() => this.errors.push(String(message)));

  handle = async ({ session, owners, events }: CommittedEvents): Promise<void> => {
    this.add(() =>
      this.handled.push({
        session: session.id,
        owners,
        texts: events.map((e) => (e as Extract<SessionEvent, { type: 'assistant' }>).text),
      }),
    );
    if (session.id === 'broken') throw new Error('receiver down');
  };

  next(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  private add(push: () => void): void {
    push();
    this.wake?.();
  }
}

describe.each(STORE_ADAPTERS)('CommittedSessions on $adapter', ({ create }) => {
  const suite = useStoreDatabase(create);
  let log: EventLog;
  let committed: CommittedSessions;
  let received: Received;

  beforeEach(() => {
    log = new EventLog(new EventStore(suite.connection), {
      ...DEFAULT_SESSIONS_OPTIONS,
      databaseUrl: suite.database.url,
      workspaceRoot: tmpdir(),
    });
    // SessionsService.committed$ is the log's (a getter): the real log stands behind it here.
    const sessions = { committed$: log.committed$ } as unknown as SessionsService;
    committed = new CommittedSessions(sessions, suite.connection, config);
    received = new Received();
    // Nest's logger: what a failed listener left undone is told there.
    jest.spyOn(Logger.prototype, 'error').mockImplementation(received.logged);
    committed.follow(
      (e) => e.type === 'assistant' && e.text.startsWith('!'),
      received.handle,
      'Test sends not made',
    );
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    committed.onModuleDestroy();
    await log.beforeApplicationShutdown();
  });

  const say = (id: string, text: string) => log.append(id, { type: 'assistant', text });

  it('hands over the picked events of a batch with their session, its owner and the admin keys', async () => {
    await log.open('s1', sessionRecord('s1', { owner: 'alice' }));
    let next = received.next();
    // A batch with nothing picked is passed over; the next one is handed over alone.
    await say('s1', 'not this');
    void say('s1', '!one');
    void say('s1', 'nor this');
    void say('s1', '!two');
    await next;
    expect(received.handled).toEqual([
      { session: 's1', owners: ['alice', 'ops'], texts: expect.arrayContaining(['!one']) },
    ]);
    await log.flush();
    expect(received.handled.flatMap((h) => h.texts)).toEqual(['!one', '!two']);

    // An admin's own session names it once; an ownerless one is told to the admins only.
    await log.open('s2', sessionRecord('s2', { owner: 'ops' }));
    await log.open('s3', sessionRecord('s3'));
    next = received.next();
    await say('s2', '!admin');
    await next;
    next = received.next();
    await say('s3', '!nobody');
    await next;
    expect(received.handled.slice(-2).map((h) => [h.session, h.owners])).toEqual([
      ['s2', ['ops']],
      ['s3', ['ops']],
    ]);
  });

  it('reads the session from the store when the batch carries none, and skips an unknown one', async () => {
    await new SessionStore(suite.connection).insertSession(
      sessionRecord('stored', { owner: 'alice', title: 'from the store' }),
    );
    await log.open('unknown');
    await log.open('stored');
    await say('unknown', '!lost');
    const next = received.next();
    await say('stored', '!found');
    await next;
    expect(received.handled).toEqual([
      { session: 'stored', owners: ['alice', 'ops'], texts: ['!found'] },
    ]);
  });

  it("logs a listener's failure with the session, and stops at module destroy", async () => {
    await log.open('broken', sessionRecord('broken'));
    const next = received.next();
    await say('broken', '!boom');
    await next;
    // The failure is logged after the handler threw: wait for it too.
    if (received.errors.length === 0) await received.next();
    expect(received.errors).toEqual([
      'Test sends not made for session broken: Error: receiver down',
    ]);
    committed.onModuleDestroy();
    await say('broken', '!after');
    await log.flush();
    expect(received.handled.flatMap((h) => h.texts)).toEqual(['!boom']);
  });
});
