import { Injectable, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { ErrorCode, type SessionEventDraft, type TurnBlock } from '@jelmore/contracts';
import { EventLog } from '../events/event-log.service';
import { SESSIONS_MODULE_OPTIONS } from '../sessions.module-definition';
import { DEFAULT_SESSIONS_OPTIONS } from '../sessions.options';
import { SecretValues } from './middleware.options';
import { PromptMiddleware } from './prompt/prompt.middleware';
import { FAKE } from './redactor/fake-secrets.spec-helpers';
import { RedactorMiddleware } from './redactor/redactor.middleware';
import {
  InputRefused,
  type LoggedEvents,
  type SessionContext,
  SessionMiddleware,
} from './session-middleware.decorator';
import { SessionMiddlewares } from './session-middlewares.service';

const session: SessionContext = { id: 's1', owner: 'alice', provider: 'claude', model: 'sonnet' };
const text = (value: string): TurnBlock => ({ type: 'text', text: value });
const textsOf = (blocks: TurnBlock[]) => blocks.map((b) => (b.type === 'text' ? b.text : b.type));

/** Tags the input with its name, and the assistant events' text: the order they ran in shows. */
function tagger(name: string, order?: number) {
  @SessionMiddleware({ name, ...(order === undefined ? {} : { order }) })
  @Injectable()
  class Tagger implements SessionMiddleware {
    onInput(_s: SessionContext, blocks: TurnBlock[]): TurnBlock[] {
      return [...blocks, text(name)];
    }
    onEvent(_s: SessionContext, draft: SessionEventDraft): LoggedEvents {
      return draft.type === 'assistant' ? { ...draft, text: `${name}<${draft.text}` } : draft;
    }
  }
  return Tagger;
}

@SessionMiddleware({ name: 'gate', order: -5 })
@Injectable()
class Gate implements SessionMiddleware {
  onInput(_s: SessionContext, blocks: TurnBlock[]): TurnBlock[] {
    if (textsOf(blocks).some((t) => t.includes('forbidden')))
      throw new InputRefused('no forbidden');
    if (textsOf(blocks).some((t) => t.includes('crash'))) throw new Error('gate crashed');
    if (textsOf(blocks).some((t) => t.includes('nothing'))) return [];
    return blocks;
  }
  onEvent(_s: SessionContext, draft: SessionEventDraft): LoggedEvents {
    if (draft.type === 'tool_use') return null;
    if (draft.type === 'error') throw new Error('events crashed');
    if (draft.type === 'tool_result') return [{ type: 'assistant', text: 'note' }, draft];
    return draft;
  }
}

@SessionMiddleware({ name: 'off' })
@Injectable()
class Off implements SessionMiddleware {
  readonly enabled = false;
  onInput(): TurnBlock[] {
    throw new Error('never run');
  }
}

async function boot(providers: Provider[], prompt = { prefix: 'PRE', suffix: 'POST' }) {
  const writes: Array<[string, SessionEventDraft]> = [];
  const moduleRef = await Test.createTestingModule({
    imports: [DiscoveryModule],
    providers: [
      SessionMiddlewares,
      {
        provide: EventLog,
        useValue: { writeIfOpen: (id: string, d: SessionEventDraft) => writes.push([id, d]) },
      },
      {
        provide: SESSIONS_MODULE_OPTIONS,
        useValue: {
          ...DEFAULT_SESSIONS_OPTIONS,
          middleware: {
            redactor: { enabled: true, patterns: [], secrets: new SecretValues([]) },
            prompt,
          },
        },
      },
      RedactorMiddleware,
      PromptMiddleware,
      ...providers,
    ],
  }).compile();
  await moduleRef.init();
  return { middlewares: moduleRef.get(SessionMiddlewares), writes };
}

describe('SessionMiddlewares', () => {
  it('runs the input through every middleware by order, the built-in prompt last', async () => {
    const { middlewares } = await boot([
      tagger('b', 10),
      tagger('a', 10),
      tagger('first', -1),
      tagger('zero'),
      Off,
    ]);
    const out = await middlewares.input(session, [text('hi')]);
    expect(textsOf(out)).toEqual(['PRE', 'hi', 'first', 'zero', 'a', 'b', 'POST']);
  });

  it('refuses with INPUT_REFUSED, naming the middleware and its reason; nothing is logged', async () => {
    const { middlewares, writes } = await boot([Gate, tagger('later')]);
    await expect(middlewares.input(session, [text('a forbidden thing')])).rejects.toMatchObject({
      code: ErrorCode.InputRefused,
      message: "Input refused by middleware 'gate': no forbidden",
      details: { middleware: 'gate', reason: 'no forbidden' },
    });
    expect(writes).toEqual([]);
  });

  it('fails the turn with MIDDLEWARE_FAILED when one throws or returns no blocks, logged as an error event', async () => {
    const { middlewares, writes } = await boot([Gate]);
    for (const input of ['crash', 'nothing']) {
      await expect(middlewares.input(session, [text(input)])).rejects.toMatchObject({
        code: ErrorCode.MiddlewareFailed,
        details: { middleware: 'gate' },
      });
    }
    expect(writes).toEqual([
      ['s1', expect.objectContaining({ type: 'error', code: 'MIDDLEWARE_FAILED' })],
      ['s1', expect.objectContaining({ type: 'error', code: 'MIDDLEWARE_FAILED' })],
    ]);
    // The message names the middleware, never what it said.
    expect(JSON.stringify(writes)).not.toContain('gate crashed');
  });

  it('passes events through by order, the redactor last; an array goes on item by item', async () => {
    const { middlewares } = await boot([tagger('b', 2), tagger('a', 1), Gate]);
    expect(middlewares.event(session, { type: 'assistant', text: `x ${FAKE.github} ` })).toEqual({
      type: 'assistant',
      text: 'b<a<x [REDACTED:github_token] ',
    });
    const result = {
      type: 'tool_result',
      toolUseId: 't',
      output: FAKE.aws,
      isError: false,
    } as const;
    expect(middlewares.event(session, result)).toEqual([
      { type: 'assistant', text: 'b<a<note' },
      { ...result, output: '[REDACTED:aws_access_key]' },
    ]);
    expect(middlewares.event(session, { type: 'tool_use', id: 't', name: 'x', input: {} })).toBe(
      null,
    );
  });

  it('drops an event a middleware throws on, for an error event naming it', async () => {
    const { middlewares } = await boot([Gate, tagger('later', 1)]);
    expect(
      middlewares.event(session, { type: 'error', code: 'AGENT_ERROR', message: FAKE.anthropic }),
    ).toEqual({
      type: 'error',
      code: 'MIDDLEWARE_FAILED',
      message: "Middleware 'gate' failed on an event (error): the event was dropped",
    });
  });

  it('returns an event untouched as the same object', async () => {
    const { middlewares } = await boot([], {} as { prefix: string; suffix: string });
    const draft: SessionEventDraft = { type: 'assistant', text: 'plain text ' };
    expect(middlewares.event(session, draft)).toBe(draft);
    const blocks = [text('hi')];
    expect(await middlewares.input(session, blocks)).toBe(blocks);
  });

  it('refuses to boot with two middlewares of one name', async () => {
    await expect(boot([tagger('twin'), tagger('twin')])).rejects.toThrow(
      "Two session middlewares are named 'twin'",
    );
  });
});
