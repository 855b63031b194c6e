import type { SessionEvent } from '@jelmore/contracts';
import { payloadFor, pushKindOf } from './push-payload';

const at = { sessionId: 's1', seq: 3, ts: '2026-01-01T00:00:00.000Z' };
const session = { id: '6c8d5709-7e95-4529-a5f1-18ac3dddef69', title: 'Clean the build' };

describe('push payloads', () => {
  it('are sent for permission requests, results and failures only', () => {
    const events = [
      { ...at, type: 'permission_request', requestId: 'r1', tool: 'Bash', input: {} },
      { ...at, type: 'result', text: 'done', durationMs: 1, usage: {} },
      { ...at, type: 'status', from: 'running', to: 'failed', reason: 'agent exited' },
      { ...at, type: 'status', from: 'running', to: 'idle' },
      { ...at, type: 'assistant', text: 'hi' },
    ] as unknown as SessionEvent[];
    expect(events.map(pushKindOf)).toEqual([
      'permission_request',
      'result',
      'failed',
      undefined,
      undefined,
    ]);
  });

  it('name the tool and its command, and carry the action token', () => {
    const event = {
      ...at,
      type: 'permission_request',
      requestId: 'r1',
      tool: 'Bash',
      input: { command: `rm -rf build\n${'x'.repeat(400)}`, description: 'clean' },
    } as SessionEvent;
    const payload = payloadFor(event, session, { token: 't', expiresAt: 'e' });
    expect(payload).toMatchObject({
      kind: 'permission_request',
      title: 'Bash wants to run: Clean the build',
      requestId: 'r1',
      tool: 'Bash',
      token: 't',
      expiresAt: 'e',
      url: `/#/sessions/${session.id}`,
      tag: `jelmore-${session.id}`,
    });
    expect(payload.body.startsWith('rm -rf build x')).toBe(true);
    expect(payload.body.length).toBeLessThanOrEqual(180);
  });

  it('say how a turn ended or why the session failed', () => {
    const result = { ...at, type: 'result', text: 'All done', durationMs: 1 } as SessionEvent;
    expect(payloadFor(result, { ...session, title: null })).toMatchObject({
      kind: 'result',
      title: 'Turn finished: session 6c8d5709',
      body: 'All done',
    });
    const failed = { ...at, type: 'status', from: 'running', to: 'failed', reason: 'exit 1' };
    expect(payloadFor(failed as SessionEvent, session)).toMatchObject({
      kind: 'failed',
      body: 'exit 1',
    });
  });
});
