import { Inject, Injectable } from '@nestjs/common';
import type { TurnBlock } from '@jelmore/contracts';
import { SESSIONS_MODULE_OPTIONS } from '../../sessions.module-definition';
import type { SessionsModuleOptions } from '../../sessions.options';
import {
  BUILT_IN_ORDER,
  type SessionContext,
  SessionMiddleware,
} from '../session-middleware.decorator';

/**
 * Built in, on when the config sets a prefix or a suffix: each turn's input reaches the agent between
 * them, as text blocks of their own. The turn's `user` event shows the input as the client sent it.
 */
@SessionMiddleware({ name: 'prompt', order: BUILT_IN_ORDER })
@Injectable()
export class PromptMiddleware implements SessionMiddleware {
  readonly enabled: boolean;
  private readonly before: TurnBlock[];
  private readonly after: TurnBlock[];

  constructor(@Inject(SESSIONS_MODULE_OPTIONS) options: SessionsModuleOptions) {
    const { prefix, suffix } = options.middleware?.prompt ?? {};
    this.before = prefix ? [{ type: 'text', text: prefix }] : [];
    this.after = suffix ? [{ type: 'text', text: suffix }] : [];
    this.enabled = !!(prefix || suffix);
  }

  onInput(_session: SessionContext, blocks: TurnBlock[]): TurnBlock[] {
    return [...this.before, ...blocks, ...this.after];
  }
}
