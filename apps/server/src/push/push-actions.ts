import { createHash, randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { ErrorCode, JelmoreError } from '@jelmore/contracts';
import { SessionsService } from '@jelmore/sessions';
import type { ActionInput } from './push-input';
import { PushRecords } from './push-records';
import { PUSH_CLOCK, PUSH_OPTIONS, type PushOptions } from './push.constants';

/** Tokens this long after expiry are dropped; until then a late answer is told EXPIRED or USED. */
const KEEP_EXPIRED_MS = 24 * 3600 * 1000;

/**
 * The Allow and Deny of a notification. Its token is the credential (the notification carries no API
 * key): random, single-use, short-lived, bound to one permission request and to the key it was sent
 * to, whose answer it gives through SessionsService.replyPermission, as the REST route does.
 */
@Injectable()
export class PushActions {
  private readonly logger = new Logger(PushActions.name);
  private readonly now: () => number;

  constructor(
    @Inject(PUSH_OPTIONS) private readonly options: PushOptions,
    private readonly records: PushRecords,
    private readonly sessions: SessionsService,
    @Optional() @Inject(PUSH_CLOCK) clock?: () => number,
  ) {
    this.now = clock ?? Date.now;
  }

  /** A new token for `owner` to answer the request with; only its hash is stored. */
  async issue(
    sessionId: string,
    requestId: string,
    owner: string,
  ): Promise<{ token: string; expiresAt: string }> {
    const now = new Date(this.now());
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.options.tokenTtlSeconds * 1000).toISOString();
    await this.records.pruneTokens(new Date(now.getTime() - KEEP_EXPIRED_MS));
    await this.records.insertToken(
      { tokenHash: digest(token), sessionId, requestId, owner, expiresAt, usedAt: null },
      now,
    );
    return { token, expiresAt };
  }

  /**
   * Answers the token's request. Refused with 403 (and nothing decided) when the token is unknown,
   * names another request than `input` says, was used, or expired.
   */
  async answer(
    token: string,
    input: ActionInput,
  ): Promise<{ sessionId: string; requestId: string }> {
    const hash = digest(token);
    const row = await this.records.token(hash);
    if (
      !row ||
      (input.sessionId !== undefined && input.sessionId !== row.sessionId) ||
      (input.requestId !== undefined && input.requestId !== row.requestId)
    ) {
      throw new JelmoreError(
        ErrorCode.PushTokenInvalid,
        'This action token answers no such permission request',
      );
    }
    if (!(await this.records.claimToken(hash, new Date(this.now())))) {
      const again = await this.records.token(hash);
      if (again?.usedAt) {
        throw new JelmoreError(ErrorCode.PushTokenUsed, 'This action token has answered already');
      }
      throw new JelmoreError(ErrorCode.PushTokenExpired, 'This action token has expired');
    }
    const owner = row.owner ?? '';
    try {
      await this.sessions.replyPermission(
        row.sessionId,
        row.requestId,
        input.allow ? { allow: true } : { allow: false, reason: 'Denied from a notification' },
        { id: owner, admin: this.options.adminOwners.includes(owner) },
      );
    } catch (err) {
      // Nothing was decided: the token may try again (until it expires).
      await this.records.releaseToken(hash);
      throw err;
    }
    this.logger.log(
      `Permission ${row.requestId} of session ${row.sessionId} ${input.allow ? 'allowed' : 'denied'} from a notification to ${owner}`,
    );
    return { sessionId: row.sessionId, requestId: row.requestId };
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
