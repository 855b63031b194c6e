import type { SessionEventDraft } from '@jelmore/contracts';
import { DEFAULT_SESSIONS_OPTIONS } from '../../sessions.options';
import { SecretValues } from '../middleware.options';
import type { SessionContext } from '../session-middleware.decorator';
import { eventsOf } from '../session-middlewares.service';
import { body, FAKE } from './fake-secrets.spec-helpers';
import { RedactorMiddleware } from './redactor.middleware';

const OWN_KEY = 'alice-key-0123456789abcdef';

function redactor(enabled = true): RedactorMiddleware {
  return new RedactorMiddleware({
    ...DEFAULT_SESSIONS_OPTIONS,
    databaseUrl: 'sqlite::memory:',
    workspaceRoot: '/tmp',
    middleware: {
      redactor: { enabled, patterns: [], secrets: new SecretValues([OWN_KEY]) },
      prompt: {},
    },
  });
}

const result: SessionEventDraft = {
  type: 'result',
  text: '',
  durationMs: 1,
  usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
};

/** Streams `pieces` as assistant events, then `end`: every event the log gets. */
function stream(pieces: string[], end: SessionEventDraft = result): SessionEventDraft[] {
  const middleware = redactor();
  const session: SessionContext = { id: 's1', owner: null, provider: 'p', model: 'm' };
  return [...pieces.map((text) => ({ type: 'assistant', text }) as const), end].flatMap((draft) =>
    eventsOf(middleware.onEvent(session, draft)),
  );
}

const textOf = (events: SessionEventDraft[]) =>
  events.map((e) => (e.type === 'assistant' ? e.text : '')).join('');

function split(text: string, at: number[]): string[] {
  return [0, ...at].map((from, i) => text.slice(from, [...at, text.length][i]));
}

function chunks(text: string, size: number): string[] {
  return Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
    text.slice(i * size, (i + 1) * size),
  );
}

describe('RedactorMiddleware on streamed text', () => {
  const cases: Array<[string, string, string]> = [
    ['an API key', `the key: ${FAKE.anthropic} works.`, 'the key: [REDACTED:anthropic_key] works.'],
    [
      'a bearer token',
      `-H "Authorization: Bearer ${body(40)}" next`,
      '-H "Authorization: Bearer [REDACTED:bearer_token]" next',
    ],
    [
      'a URL password',
      'url postgres://app:pw-1234@db/x ok',
      'url postgres://app:[REDACTED:url_password]@db/x ok',
    ],
    [
      'a key inside JSON',
      `{"token":"${FAKE.anthropic}","n":1}`,
      '{"token":"[REDACTED:anthropic_key]","n":1}',
    ],
    [
      'nothing in a certificate',
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n',
    ],
    ['a token that ends the text', `token ${FAKE.github}`, 'token [REDACTED:github_token]'],
    ["the server's own key", `use ${OWN_KEY} now`, 'use [REDACTED:jelmore_key] now'],
    ['a private key', `key:\n${FAKE.privateKey}\ndone`, 'key:\n[REDACTED:private_key]\ndone'],
  ];

  it.each(cases)('redacts %s split at any point', (_what, text, expected) => {
    for (let at = 1; at < text.length; at++) {
      const events = stream(split(text, [at]));
      expect({ at, text: textOf(events) }).toEqual({ at, text: expected });
      expect(events[events.length - 1]).toBe(result);
    }
  });

  it.each(cases)('redacts %s streamed a few characters at a time', (_what, text, expected) => {
    for (const size of [1, 2, 3, 5, 8]) expect(textOf(stream(chunks(text, size)))).toBe(expected);
  });

  it('lets prose, code, CJK and long runs through piece by piece, holding nothing back', () => {
    for (const pieces of [
      ['Hello', ' world', ', how', ' are', ' you?'],
      ['const y', ' = f(a,', ' b);\n', 'return y'],
      ['レポート', 'を作成', 'しました'],
      ['x'.repeat(100), 'x'.repeat(100), 'x'.repeat(100)],
    ]) {
      const events = stream(pieces);
      expect(events.slice(0, -1).map((e) => (e.type === 'assistant' ? e.text : e.type))).toEqual(
        pieces,
      );
    }
  });

  it('holds back what may begin a secret, and lets it go with the event that ends the text', () => {
    const toolUse: SessionEventDraft = { type: 'tool_use', id: 't', name: 'Read', input: {} };
    const events = stream(['Your key is sk-ant-api', '03-abc'], toolUse);
    expect(events).toEqual([
      { type: 'assistant', text: 'Your key is ' },
      { type: 'assistant', text: 'sk-ant-api03-abc' },
      toolUse,
    ]);
  });

  it('is not run when turned off', () => {
    expect(redactor(false).enabled).toBe(false);
    expect(redactor().enabled).toBe(true);
  });
});
