import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Subscription } from 'rxjs';
import type { SessionEvent } from '@jelmore/contracts';
import {
  type CommittedBatch,
  type SessionRecord,
  SessionsService,
  SessionStore,
  StoreConnection,
} from '@jelmore/sessions';
import { adminOwners } from '../auth/api-keys.service';
import { JelmoreConfig } from '../config/jelmore.config';

/** The events of one committed batch that a listener takes, and who is told of them. */
export interface CommittedEvents {
  session: SessionRecord;
  /** The keys told of the session: its owner and the admin keys, which see every session. */
  owners: string[];
  events: SessionEvent[];
}

/**
 * Committed batches for the server's own outboxes (webhooks, push). Only the node that commits an
 * event sees it, so in a cluster each is handled once; the session never waits for a listener.
 */
@Injectable()
export class CommittedSessions implements OnModuleDestroy {
  private readonly logger = new Logger(CommittedSessions.name);
  private readonly subscriptions = new Subscription();
  private readonly store: SessionStore;
  private readonly admins: string[];

  constructor(
    private readonly sessions: SessionsService,
    connection: StoreConnection,
    config: JelmoreConfig,
  ) {
    this.store = new SessionStore(connection);
    this.admins = adminOwners(config);
  }

  /**
   * Hands `handle` the events `picks` takes of each batch committed here (a batch with none is passed
   * over without a read); `failure` says what a failed `handle` left undone, in the log.
   */
  follow(
    picks: (event: SessionEvent) => unknown,
    handle: (committed: CommittedEvents) => Promise<void>,
    failure: string,
  ): void {
    this.subscriptions.add(
      this.sessions.committed$.subscribe((committed) => {
        if (committed.batch === 'end') return;
        const events = committed.batch.filter((e) => picks(e));
        if (events.length === 0) return;
        this.handle(committed, events, handle).catch((err: unknown) =>
          this.logger.error(`${failure} for session ${committed.sessionId}: ${String(err)}`),
        );
      }),
    );
  }

  onModuleDestroy(): void {
    this.subscriptions.unsubscribe();
  }

  private async handle(
    { sessionId, record }: CommittedBatch,
    events: SessionEvent[],
    handle: (committed: CommittedEvents) => Promise<void>,
  ): Promise<void> {
    // The batch carries its session when the log was opened with it; else the store has it.
    const session = record ?? (await this.store.getSession(sessionId));
    if (!session) return;
    const owners = [...new Set([session.owner, ...this.admins])].filter(
      (o): o is string => o !== null,
    );
    await handle({ session, owners, events });
  }
}
