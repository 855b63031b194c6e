import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Observable, Subject, type Subscription } from 'rxjs';
import {
  ErrorCode,
  JelmoreError,
  type SessionEvent,
  type SessionResource,
  ValidationError,
} from '@jelmore/contracts';
import { type SecretRedactor, SessionsService, type StreamOptions } from '@jelmore/sessions';
import type { Principal } from '../auth/api-keys.service';
import { ShareRecords, type ShareRow } from './share-records';
import { ShareRedaction, shareRedactor } from './share-redaction';
import { hashShareToken, isWellFormedShareToken, mintShareToken } from './share-token';
import { SHARES_OPTIONS, type SharesOptions } from './shares.constants';

/** A share link as its session's owner sees it: never its token (only its hash is stored). */
export interface ShareView {
  id: string;
  sessionId: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
}

/** The answer to creating one: the only time the token (and the URL that holds it) is shown. */
export interface CreatedShare extends ShareView {
  token: string;
  url: string;
}

/** What a share link shows of its session: no working directory, no owner, no permission policy. */
export type SharedSession = Pick<
  SessionResource,
  'id' | 'title' | 'provider' | 'model' | 'state' | 'createdAt' | 'updatedAt' | 'usage' | 'lastSeq'
> & { share: { id: string; expiresAt: string } };

/**
 * Read-only share links of a session: made, listed and revoked by its owner (or an admin), opened by
 * anyone holding the token, for reading only, with every text redacted.
 */
@Injectable()
export class SharesService {
  private readonly logger = new Logger(SharesService.name);
  private readonly redactor: SecretRedactor;
  /** Share ids revoked on this node: their live streams end at once (others find out on recheck). */
  private readonly revoked$ = new Subject<string>();

  constructor(
    @Inject(SHARES_OPTIONS) private readonly options: SharesOptions,
    private readonly records: ShareRecords,
    private readonly sessions: SessionsService,
  ) {
    this.redactor = shareRedactor(options.redactPatterns, options.secrets.values);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async create(
    principal: Principal,
    sessionId: string,
    body: unknown,
    origin: string,
  ): Promise<CreatedShare> {
    const ttl = this.ttlOf(body);
    await this.sessions.get(sessionId, principal);
    const token = mintShareToken();
    const created = this.now();
    const row: ShareRow = {
      id: `shr_${randomUUID()}`,
      tokenHash: hashShareToken(token),
      sessionId,
      owner: principal.id,
      createdAt: new Date(created).toISOString(),
      expiresAt: new Date(created + ttl * 1000).toISOString(),
      revokedAt: null,
    };
    await this.records.insert(row);
    this.logger.log(`Share ${row.id} of session ${sessionId} made by ${principal.id}`);
    const base = this.options.publicUrl ?? origin;
    return { ...this.view(row), token, url: `${base}/share/${token}` };
  }

  async list(principal: Principal, sessionId: string): Promise<ShareView[]> {
    await this.sessions.get(sessionId, principal);
    return (await this.records.ofSession(sessionId)).map((row) => this.view(row));
  }

  /** Revokes the link of `token` (DELETE /v1/shares/:token): the owner's or an admin's key only. */
  async revokeByToken(principal: Principal, token: string): Promise<ShareView> {
    const row = isWellFormedShareToken(token)
      ? await this.records.byTokenHash(hashShareToken(token))
      : undefined;
    if (!row || !(await this.mayManage(principal, row.sessionId))) throw shareNotFound();
    return this.revoke(principal, row);
  }

  /** Revokes one of a session's links by its id (the list shows ids, never tokens). */
  async revokeById(principal: Principal, sessionId: string, id: string): Promise<ShareView> {
    await this.sessions.get(sessionId, principal);
    const row = (await this.records.ofSession(sessionId)).find((r) => r.id === id);
    if (!row) throw shareNotFound();
    return this.revoke(principal, row);
  }

  /**
   * The live share of `token`, or the error that says why not: unknown (SHARE_NOT_FOUND), revoked
   * (SHARE_REVOKED), expired (SHARE_EXPIRED).
   */
  async resolve(token: string): Promise<ShareRow> {
    const row = isWellFormedShareToken(token)
      ? await this.records.byTokenHash(hashShareToken(token))
      : undefined;
    if (!row) throw shareNotFound();
    const refusal = this.refusal(row);
    if (refusal) throw refusal;
    return row;
  }

  async session(token: string): Promise<SharedSession> {
    const share = await this.resolve(token);
    // The request log shows the path with the token redacted: this says which link was opened.
    this.logger.log(`Share ${share.id} of session ${share.sessionId} opened`);
    const s = await this.sessions.get(share.sessionId);
    return {
      id: s.id,
      ...(s.title !== undefined ? { title: this.redactor.text(s.title) } : {}),
      provider: s.provider,
      model: s.model,
      state: s.state,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
      usage: s.usage,
      lastSeq: s.lastSeq,
      share: { id: share.id, expiresAt: share.expiresAt },
    };
  }

  /** A page of committed events after `after`, redacted. */
  async events(token: string, after: number, limit: number): Promise<SessionEvent[]> {
    const share = await this.resolve(token);
    const events = await this.sessions.events(share.sessionId, after, limit);
    let full = events.length === limit;
    // A page that is all one possible secret streaming: read on until it resolves (the redactor lets
    // go of held text past 16 KB, so this ends).
    for (;;) {
      const page = this.redaction().page(events, full);
      if (page) return page;
      const more = await this.sessions.events(share.sessionId, events.at(-1)!.seq, READ_AHEAD);
      events.push(...more);
      full = more.length === READ_AHEAD;
    }
  }

  /**
   * The session's events after `after`, replayed then live, redacted. Ends with SHARE_REVOKED or
   * SHARE_EXPIRED when the link stops holding while it runs.
   */
  async stream(
    token: string,
    after: number,
    options?: StreamOptions,
  ): Promise<Observable<SessionEvent[]>> {
    const share = await this.resolve(token);
    this.logger.log(`Share ${share.id} of session ${share.sessionId} followed from seq ${after}`);
    const batches = await this.sessions.stream(share.sessionId, after, undefined, options);
    return new Observable<SessionEvent[]>((sub) => {
      const redaction = this.redaction();
      const end = (err: JelmoreError) => {
        const rest = redaction.flush();
        if (rest.length) sub.next(rest);
        sub.error(err);
      };
      const subscriptions: Subscription[] = [
        batches.subscribe({
          next: (batch) => {
            const out = redaction.push(batch);
            if (out.length) sub.next(out);
          },
          complete: () => {
            const rest = redaction.flush();
            if (rest.length) sub.next(rest);
            sub.complete();
          },
          error: (err: unknown) => sub.error(err),
        }),
        this.revoked$.subscribe((id) => {
          if (id === share.id) end(revokedError());
        }),
      ];
      // Capped: a timer past 2^31 ms fires at once; the recheck below covers the rest.
      const expiry = setTimeout(
        () => {
          if (Date.parse(share.expiresAt) <= this.now()) end(expiredError());
        },
        Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(share.expiresAt) - this.now())),
      );
      // Revoked on another node of a cluster: the store says so.
      const recheck = setInterval(() => {
        this.records
          .byTokenHash(share.tokenHash)
          .then((row) => {
            const refusal = row && this.refusal(row);
            if (refusal) end(refusal);
          })
          .catch(() => undefined);
      }, this.options.recheckMs ?? 5000);
      expiry.unref();
      recheck.unref();
      return () => {
        clearTimeout(expiry);
        clearInterval(recheck);
        for (const s of subscriptions) s.unsubscribe();
      };
    });
  }

  private redaction(): ShareRedaction {
    return new ShareRedaction(this.redactor, this.options.workspaceRoot);
  }

  private async revoke(principal: Principal, row: ShareRow): Promise<ShareView> {
    if (row.revokedAt === null) {
      await this.records.revoke(row.id, new Date(this.now()).toISOString());
      this.logger.log(`Share ${row.id} of session ${row.sessionId} revoked by ${principal.id}`);
      this.revoked$.next(row.id);
    }
    const [stored] = (await this.records.ofSession(row.sessionId)).filter((r) => r.id === row.id);
    return this.view(stored ?? row);
  }

  private async mayManage(principal: Principal, sessionId: string): Promise<boolean> {
    try {
      await this.sessions.get(sessionId, principal);
      return true;
    } catch {
      return false;
    }
  }

  private refusal(row: ShareRow): JelmoreError | undefined {
    if (row.revokedAt !== null) return revokedError();
    if (Date.parse(row.expiresAt) <= this.now()) return expiredError();
    return undefined;
  }

  private view(row: ShareRow): ShareView {
    const refusal = this.refusal(row);
    return {
      id: row.id,
      sessionId: row.sessionId,
      createdAt: row.createdAt,
      expiresAt: row.expiresAt,
      revokedAt: row.revokedAt,
      status: !refusal ? 'active' : row.revokedAt !== null ? 'revoked' : 'expired',
    };
  }

  private ttlOf(body: unknown): number {
    const { defaultTtlSeconds, maxTtlSeconds } = this.options;
    if (body === undefined || body === null) return defaultTtlSeconds;
    if (typeof body !== 'object' || Array.isArray(body)) {
      throw new ValidationError('The body must be a JSON object: {expiresInSeconds?}');
    }
    const extra = Object.keys(body).find((k) => k !== 'expiresInSeconds');
    if (extra) throw new ValidationError(`property ${extra} should not exist`);
    const ttl = (body as { expiresInSeconds?: unknown }).expiresInSeconds;
    if (ttl === undefined) return defaultTtlSeconds;
    if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > maxTtlSeconds) {
      throw new ValidationError(
        `expiresInSeconds must be an integer from 1 to ${maxTtlSeconds} (got ${JSON.stringify(ttl)})`,
      );
    }
    return ttl;
  }
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** Events read at a time past a page that ends inside a possible secret. */
const READ_AHEAD = 64;

function shareNotFound(): JelmoreError {
  return new JelmoreError(ErrorCode.ShareNotFound, 'No such share link');
}

function revokedError(): JelmoreError {
  return new JelmoreError(ErrorCode.ShareRevoked, 'This share link was revoked');
}

function expiredError(): JelmoreError {
  return new JelmoreError(ErrorCode.ShareExpired, 'This share link has expired');
}
