import type { SessionEvent, SessionEventDraft } from '@jelmore/contracts';
import { EventPrinter, type OutputStream } from './event-printer';
import { Spinner } from './spinner';

class Capture implements OutputStream {
  text = '';
  constructor(readonly isTTY = false) {}
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

let seq = 0;
const ev = (draft: SessionEventDraft): SessionEvent => ({
  sessionId: 's1',
  seq: ++seq,
  ts: '2025-01-01T00:00:00Z',
  ...draft,
});

function printer(spinner = false) {
  const out = new Capture(spinner);
  const err = new Capture(spinner);
  const spin = spinner ? new Spinner(err, 10_000) : undefined;
  return { out, err, spin, p: new EventPrinter({ out, err }, { color: false, spinner: spin }) };
}

describe('EventPrinter', () => {
  it('puts the reply on stdout and tool calls, results and the turn summary on stderr', () => {
    const { out, err, p } = printer();
    for (const e of [
      ev({ type: 'status', from: null, to: 'starting' }),
      ev({ type: 'status', from: 'starting', to: 'running' }),
      ev({ type: 'assistant', text: 'Let me ' }),
      ev({ type: 'assistant', text: 'check.' }),
      ev({ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'ls -la\n  src' } }),
      ev({ type: 'tool_result', toolUseId: 't1', output: 'a.txt\nb.txt', isError: false }),
      ev({ type: 'tool_use', id: 't2', name: 'Read', input: { file_path: '/x/y.ts' } }),
      ev({ type: 'tool_result', toolUseId: 't2', output: 'ENOENT', isError: true }),
      ev({ type: 'assistant', text: 'Done.' }),
      ev({ type: 'usage', inputTokens: 84, outputTokens: 14, costUsd: 0.000462 }),
      ev({
        type: 'result',
        text: 'Let me check.Done.',
        durationMs: 2345,
        usage: { inputTokens: 84, outputTokens: 14, costUsd: 0.000462 },
      }),
    ])
      p.print(e);
    p.finish();
    // The reply's lines end before each stderr line, so a terminal shows them apart.
    expect(out.text).toBe('Let me check.\nDone.\n');
    expect(err.text).toBe(
      [
        '› Bash ls -la src',
        '  ↳ a.txt b.txt',
        '› Read /x/y.ts',
        '  ↳ error: ENOENT',
        '✓ done in 2.3 s · 84 in / 14 out tokens · $0.000462',
        '',
      ].join('\n'),
    );
    expect(p.state).toBe('running');
  });

  it('shows interrupted turns, errors, fallbacks, ends, permission requests and unknown events', () => {
    const { out, err, p } = printer();
    p.print(ev({ type: 'status', from: null, to: 'starting', reason: 'fell back to opencode' }));
    p.print(ev({ type: 'assistant', text: 'partial' }));
    p.print(
      ev({
        type: 'result',
        text: 'partial',
        durationMs: 400,
        usage: { inputTokens: 1, outputTokens: 2, costUsd: 0 },
        interrupted: true,
      }),
    );
    p.print(ev({ type: 'error', code: 'AGENT_EXITED', message: 'the agent died' }));
    p.print(ev({ type: 'directory_changed', from: '/w/a', to: '/w/a/sub' }));
    p.print(
      ev({ type: 'permission_request', requestId: 'r1', tool: 'Bash', input: { command: 'rm x' } }),
    );
    p.print(
      ev({
        type: 'child_permission_request',
        childSessionId: 'c1',
        requestId: 'r2',
        tool: 'bash',
        input: { command: 'npm test' },
      }),
    );
    p.print(
      ev({
        type: 'child_permission_resolved',
        childSessionId: 'c1',
        requestId: 'r2',
        allow: false,
        by: 'timeout',
      }),
    );
    p.print({
      sessionId: 's1',
      seq: ++seq,
      ts: 't',
      type: 'thinking',
      text: 'hmm',
    } as unknown as SessionEvent);
    p.print(ev({ type: 'status', from: 'idle', to: 'failed', reason: 'agent exited' }));
    p.print(ev({ type: 'status', from: 'idle', to: 'terminated', reason: 'terminated by client' }));
    expect(out.text).toBe('partial\n');
    expect(err.text.split('\n')).toEqual([
      'fell back to opencode',
      '⏹ interrupted in 400 ms · 1 in / 2 out tokens · $0',
      '✗ AGENT_EXITED: the agent died',
      '  cd /w/a/sub',
      '? Bash asks for permission: rm x (request r1)',
      '? session c1: bash asks for permission: npm test (request r2)',
      '  ↳ session c1: denied by timeout',
      '[thinking] {"text":"hmm"}',
      'session failed: agent exited',
      'session terminated (terminated by client)',
      '',
    ]);
  });

  it('shows each checkpoint on one short line, after the turn it follows', () => {
    const { out, err, p } = printer();
    const commit = 'abc1234def5678abc1234def5678abc1234def56';
    p.print(ev({ type: 'checkpoint', turn: 0, commit, filesChanged: 0 }));
    p.print(ev({ type: 'assistant', text: 'Edited.' }));
    p.print(
      ev({
        type: 'result',
        text: 'Edited.',
        durationMs: 1200,
        usage: { inputTokens: 3, outputTokens: 4, costUsd: 0 },
      }),
    );
    p.print(ev({ type: 'checkpoint', turn: 1, commit, filesChanged: 1 }));
    p.print(ev({ type: 'checkpoint', turn: 2, commit, filesChanged: 3 }));
    expect(out.text).toBe('Edited.\n');
    expect(err.text.split('\n')).toEqual([
      '✓ checkpoint turn 0 · 0 files · abc1234',
      '✓ done in 1.2 s · 3 in / 4 out tokens · $0',
      '✓ checkpoint turn 1 · 1 file · abc1234',
      '✓ checkpoint turn 2 · 3 files · abc1234',
      '',
    ]);
  });

  it("prints a turn's input briefly: its text, then its attachments with their sizes", () => {
    const { out, err, p } = printer();
    const attachment = { sha256: 'x', mediaType: 'image/png' } as const;
    p.print(ev({ type: 'user', content: [{ type: 'text', text: 'plain\n  question' }] }));
    p.print(
      ev({
        type: 'user',
        content: [
          { type: 'text', text: 'what is wrong here?' },
          { ...attachment, type: 'image', attachmentId: 'a1b2c3d4e5f6', size: 12_345 },
          {
            ...attachment,
            type: 'document',
            mediaType: 'application/pdf',
            attachmentId: 'ffff0000',
            size: 800,
            name: 'spec.pdf',
          },
        ],
      }),
    );
    p.print(
      ev({
        type: 'user',
        content: [{ ...attachment, type: 'image', attachmentId: 'i9', size: 3 }],
      }),
    );
    expect(out.text).toBe('');
    expect(err.text.split('\n')).toEqual([
      '> plain question',
      '> what is wrong here? [image a1b2c3d4 12 KB] [document spec.pdf 800 B]',
      '> [image i9 3 B]',
      '',
    ]);
  });

  it('spins only at the start of a line while the agent works, and erases itself before output', () => {
    const { out, err, spin, p } = printer(true);
    p.print(ev({ type: 'status', from: null, to: 'starting' }));
    expect(spin!.spinning).toBe(true);
    expect(err.text).toBe('\r\x1b[K⠋ starting');
    p.print(ev({ type: 'assistant', text: 'Hi' }));
    expect(spin!.spinning).toBe(false);
    expect(err.text.endsWith('\r\x1b[K')).toBe(true);
    // Mid-line: a spinner would overwrite the reply.
    p.print(ev({ type: 'status', from: 'starting', to: 'running' }));
    expect(spin!.spinning).toBe(false);
    p.print(ev({ type: 'tool_use', id: 't', name: 'Bash', input: { command: 'make' } }));
    expect(out.text).toBe('Hi\n');
    expect(spin!.spinning).toBe(true);
    expect(err.text.endsWith('running Bash')).toBe(true);
    p.print(ev({ type: 'status', from: 'running', to: 'idle' }));
    expect(spin!.spinning).toBe(false);
    p.finish();
  });
});
