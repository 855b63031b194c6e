import type { SessionEventDraft } from '@jelmore/contracts';
import { body, FAKE } from './fake-secrets.spec-helpers';
import { SecretRedactor } from './secret-redactor';

describe('SecretRedactor.text', () => {
  const redactor = new SecretRedactor();

  it.each([
    ['anthropic_key', FAKE.anthropic],
    ['openai_key', FAKE.openai],
    ['openai_key', FAKE.openaiProject],
    ['github_token', FAKE.github],
    ['github_token', FAKE.githubFine],
    ['aws_access_key', FAKE.aws],
    ['slack_token', FAKE.slack],
    ['jelmore_token', FAKE.delegation],
    ['private_key', FAKE.privateKey],
  ])('redacts %s wherever it stands', (kind, secret) => {
    for (const around of [
      (s: string) => s,
      (s: string) => `key: ${s}`,
      (s: string) => `export API_KEY="${s}"\nnext line`,
      (s: string) => `{"token":"${s}"}`,
    ]) {
      const out = redactor.text(around(secret));
      expect(out).toBe(around(`[REDACTED:${kind}]`));
    }
  });

  it('keeps the scheme and user of a URL with a password, and "Bearer" before a token', () => {
    expect(redactor.text('DATABASE_URL=postgres://app:s3cr3t-pw@db:5432/app')).toBe(
      'DATABASE_URL=postgres://app:[REDACTED:url_password]@db:5432/app',
    );
    expect(redactor.text(`curl -H "Authorization: Bearer ${body(40)}" https://x`)).toBe(
      'curl -H "Authorization: Bearer [REDACTED:bearer_token]" https://x',
    );
  });

  it('leaves code, prose and look-alikes alone', () => {
    const untouched = [
      'const password = process.env.PASSWORD; // password=hunter2 stays: a word is no key',
      'pip install scikit-learn; the sk-learn-compatible-estimator-interface-name',
      'sk-short and ghp_tooShort and AKIA123 and xoxb- alone',
      'The bearer of bad news; Bearer short',
      'git clone git@github.com:org/repo.git; https://example.com/a:b@c is no password',
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
      'レポートを作成しました。日本語のテキストはそのままです。',
      'x'.repeat(100),
    ];
    for (const text of untouched) expect(redactor.text(text)).toBe(text);
  });

  it('redacts an unterminated private key block to the end of the text', () => {
    expect(redactor.text(`before\n-----BEGIN PRIVATE KEY-----\n${body(64)}\n${body(10)}`)).toBe(
      'before\n[REDACTED:private_key]',
    );
  });

  it("redacts the server's own keys as jelmore_key, and the operator's patterns as custom", () => {
    const own = new SecretRedactor(
      ['corp-[0-9]{6}', 'tok_(?:live|test)_\\w{8,}'],
      ['k3y-of-alice-0123456789', 'sk-ant-but-our-own-key-value-000000000'],
    );
    expect(own.text('a k3y-of-alice-0123456789 b')).toBe('a [REDACTED:jelmore_key] b');
    // The server's key is named as such even where it has another secret's shape.
    expect(own.text('sk-ant-but-our-own-key-value-000000000')).toBe('[REDACTED:jelmore_key]');
    expect(own.text('id corp-123456 and tok_live_abcdefgh9')).toBe(
      'id [REDACTED:custom] and [REDACTED:custom]',
    );
    expect(own.text('corp-12345 tok_live_short')).toBe('corp-12345 tok_live_short');
  });
});

describe('SecretRedactor.event', () => {
  const redactor = new SecretRedactor();
  const key = FAKE.anthropic;
  const marker = '[REDACTED:anthropic_key]';

  it('redacts the strings of text-bearing events, deep in tool inputs too', () => {
    const cases: Array<[SessionEventDraft, SessionEventDraft]> = [
      [
        { type: 'assistant', text: `here: ${key}` },
        { type: 'assistant', text: `here: ${marker}` },
      ],
      [
        { type: 'tool_use', id: 't1', name: 'Bash', input: { command: `echo ${key}`, n: 1 } },
        { type: 'tool_use', id: 't1', name: 'Bash', input: { command: `echo ${marker}`, n: 1 } },
      ],
      [
        { type: 'tool_result', toolUseId: 't1', output: key, isError: false },
        { type: 'tool_result', toolUseId: 't1', output: marker, isError: false },
      ],
      [
        {
          type: 'permission_request',
          requestId: 'r1',
          tool: 'Write',
          input: { files: [{ content: `KEY=${key}` }, 'plain'] },
        },
        {
          type: 'permission_request',
          requestId: 'r1',
          tool: 'Write',
          input: { files: [{ content: `KEY=${marker}` }, 'plain'] },
        },
      ],
      [
        { type: 'error', code: 'AGENT_ERROR', message: `bad key ${key}` },
        { type: 'error', code: 'AGENT_ERROR', message: `bad key ${marker}` },
      ],
      [
        {
          type: 'user',
          content: [
            { type: 'text', text: `use ${key}` },
            { type: 'text', text: 'plain' },
          ],
        },
        {
          type: 'user',
          content: [
            { type: 'text', text: `use ${marker}` },
            { type: 'text', text: 'plain' },
          ],
        },
      ],
    ];
    for (const [draft, expected] of cases) expect(redactor.event(draft)).toEqual(expected);
    const result = redactor.event({
      type: 'result',
      text: key,
      durationMs: 1,
      usage: { inputTokens: 1, outputTokens: 1, costUsd: 0 },
    });
    expect(result).toMatchObject({ text: marker, durationMs: 1 });
  });

  it('returns the same object when nothing changed, and leaves other events alone', () => {
    const clean: SessionEventDraft[] = [
      { type: 'assistant', text: 'hello' },
      { type: 'tool_use', id: 't', name: 'Read', input: { path: 'a', deep: [{ x: ['y'] }] } },
      { type: 'status', from: 'running', to: 'idle', reason: key },
      { type: 'directory_changed', from: '/a', to: '/b' },
    ];
    for (const draft of clean) expect(redactor.event(draft)).toBe(draft);
  });
});
