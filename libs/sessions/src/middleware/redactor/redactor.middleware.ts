import { Inject, Injectable } from '@nestjs/common';
import type { AssistantEvent, SessionEventDraft } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../../sessions.module-definition';
import type { SessionsModuleOptions } from '../../sessions.options';
import { DEFAULT_MIDDLEWARE_OPTIONS } from '../middleware.options';
import {
  BUILT_IN_ORDER,
  type LoggedEvents,
  type SessionContext,
  SessionMiddleware,
} from '../session-middleware.decorator';
import { SecretRedactor } from './secret-redactor';

/**
 * Built in, on unless the config turns it off: secrets in the text of events (API keys, tokens,
 * private keys, the server's own keys) are logged as `[REDACTED:<kind>]`, so neither live delivery nor
 * a replay shows them. The agent itself still has what it was given.
 */
@SessionMiddleware({ name: 'redactor', order: BUILT_IN_ORDER })
@Injectable()
export class RedactorMiddleware implements SessionMiddleware {
  readonly enabled: boolean;
  private readonly redactor: SecretRedactor;
  /** Per session, streamed text held back (see SecretRedactor.streamed); the session's context is the key. */
  private readonly held = new WeakMap<SessionContext, string>();

  constructor(@Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions) {
    const { enabled, patterns, secrets } = (options.middleware ?? DEFAULT_MIDDLEWARE_OPTIONS)
      .redactor;
    this.enabled = enabled;
    this.redactor = new SecretRedactor(patterns, secrets.values);
  }

  onEvent(session: SessionContext, draft: SessionEventDraft): LoggedEvents {
    if (draft.type === 'assistant') return this.streamed(session, draft);
    const out = this.redactor.event(draft);
    const held = this.held.get(session);
    if (held === undefined) return out;
    // Held text goes out before the event that ends the stream of text (a tool call, the result).
    this.held.delete(session);
    return [{ type: 'assistant', text: this.redactor.text(held) }, out];
  }

  private streamed(session: SessionContext, draft: AssistantEvent): LoggedEvents {
    const before = this.held.get(session);
    const text = before === undefined ? draft.text : before + draft.text;
    const [shown, held] = this.redactor.streamed(text);
    if (held) this.held.set(session, held);
    else if (before !== undefined) this.held.delete(session);
    if (!shown) return null;
    return shown === draft.text ? draft : { ...draft, text: shown };
  }
}
