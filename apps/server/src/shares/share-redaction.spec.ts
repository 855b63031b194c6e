import type { SessionEvent } from '@jelmore/contracts';
import { FAKE } from '../../../../libs/sessions/src/middleware/redactor/fake-secrets.spec-helpers';
import { ShareRedaction, shareRedactor } from './share-redaction';
import { mintShareToken } from './share-token';

const base = { sessionId: 's1', ts: '2026-01-01T00:00:00.000Z' };
let seq = 0;
const ev = (e: Record<string, unknown>): SessionEvent => ({ ...base, seq: ++seq, ...e }) as never;
const assistant = (text: string) => ev({ type: 'assistant', text });

describe('ShareRedaction', () => {
  const redactor = shareRedactor(['corp-[0-9]{6}'], ['server-api-key-0123456789']);

  it('redacts every string of every event, whatever its type, and keeps structure', () => {
    const redaction = new ShareRedaction(redactor);
    const token = mintShareToken();
    const out = redaction.push([
      ev({ type: 'user', content: [{ type: 'text', text: `key ${FAKE.anthropic}` }] }),
      ev({ type: 'tool_use', id: 't1', name: 'Bash', input: { command: `echo ${FAKE.aws}` } }),
      ev({ type: 'tool_result', toolUseId: 't1', output: `corp-123456 ${token}`, isError: false }),
      ev({
        type: 'child_permission_request',
        childSessionId: 'c',
        requestId: 'r',
        tool: 'Bash',
        input: { env: FAKE.slack },
      }),
      ev({ type: 'error', code: 'AGENT_ERROR', message: 'Bearer server-api-key-0123456789' }),
    ]);
    const text = JSON.stringify(out);
    for (const secret of [
      FAKE.anthropic,
      FAKE.aws,
      FAKE.slack,
      'corp-123456',
      token,
      'server-api-key-0123456789',
    ])
      expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED:custom]');
    expect(out.map((e) => e.type)).toEqual([
      'user',
      'tool_use',
      'tool_result',
      'child_permission_request',
      'error',
    ]);
    expect(out[0].sessionId).toBe('s1');
  });

  it('catches a secret streamed across assistant events, holding back only what may begin one', () => {
    const redaction = new ShareRedaction(redactor);
    const pieces = `Your key is ${FAKE.github}, keep it safe.`.match(/.{1,7}/gs)!;
    const events = pieces.map(assistant);
    const out = [
      ...redaction.push(events.slice(0, 3)),
      ...redaction.push(events.slice(3)),
      ...redaction.push([ev({ type: 'result', text: 'done', durationMs: 1, usage: {} })]),
    ];
    const text = out
      .filter((e) => e.type === 'assistant')
      .map((e) => (e as { text: string }).text)
      .join('');
    expect(text).toBe('Your key is [REDACTED:github_token], keep it safe.');
    // Seqs stay in order, none twice.
    const seqs = out.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(out.at(-1)?.type).toBe('result');
  });

  it('lets go of held text at flush, redacted as it stands', () => {
    const redaction = new ShareRedaction(redactor);
    const first = redaction.push([assistant('token: ghp_')]);
    const rest = redaction.flush();
    expect([...first, ...rest].map((e) => (e as { text: string }).text).join('')).toBe(
      'token: ghp_',
    );
    expect(redaction.flush()).toEqual([]);
  });

  it('shows directories relative to the workspace root', () => {
    const redaction = new ShareRedaction(redactor, '/srv/jelmore/workspace');
    const [moved] = redaction.push([
      ev({
        type: 'directory_changed',
        from: '/srv/jelmore/workspace/s1',
        to: '/srv/jelmore/workspace/s1/src',
      }),
    ]);
    expect(moved).toMatchObject({ from: 's1', to: 's1/src' });
  });
});

describe('ShareRedaction pages', () => {
  const redactor = shareRedactor([], []);
  const pieces = `Your key is ${FAKE.github}, keep it safe.`.match(/.{1,7}/gs)!;

  /** Pages of `size`, each read after the last seq the previous one showed, as a client pages. */
  function readAll(events: SessionEvent[], size: number): string {
    const shown: SessionEvent[] = [];
    let after = events[0].seq - 1;
    for (let guard = 0; guard < 100; guard++) {
      if (!events.some((e) => e.seq > after)) break;
      // As SharesService.events: a page that is all one possible secret reads on.
      let out: SessionEvent[] | undefined;
      for (let n = size; !out; n += size) {
        const more = events.filter((e) => e.seq > after).slice(0, n);
        out = new ShareRedaction(redactor).page(more, more.length === n);
      }
      shown.push(...out);
      if (out.length) after = out[out.length - 1].seq;
      else break; // the end of the log holds part of a possible secret: wait for more
    }
    return shown.map((e) => (e as { text: string }).text).join('');
  }

  it('end before a secret the page cuts, so the next page reads it whole', () => {
    const events = pieces.map(assistant);
    expect(readAll(events, 8)).toBe('Your key is [REDACTED:github_token], keep it safe.');
  });

  it('read on past a page that is all one possible secret', () => {
    expect(readAll(pieces.map(assistant), 2)).toBe(
      'Your key is [REDACTED:github_token], keep it safe.',
    );
  });

  it('at the end of the log, wait with what may begin a secret', () => {
    const events = ['Token: ', 'ghp_aH1t'].map(assistant);
    expect(readAll(events, 10)).toBe('Token: ');
  });
});
