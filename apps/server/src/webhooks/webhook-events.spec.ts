import type { SessionEvent } from '@jelmore/contracts';
import { checkWebhookTarget, webhookEventOf } from './webhook-events';

const envelope = { sessionId: 's1', seq: 1, ts: '2026-01-01T00:00:00.000Z' };

describe('webhook events', () => {
  it('names result, permission_request and child_session by type, and failed by a status to failed', () => {
    const of = (event: object) => webhookEventOf({ ...envelope, ...event } as SessionEvent);
    expect(of({ type: 'result', text: '', durationMs: 1 })).toBe('result');
    expect(of({ type: 'status', from: 'running', to: 'failed' })).toBe('failed');
    expect(of({ type: 'status', from: 'running', to: 'idle' })).toBeUndefined();
    expect(of({ type: 'text', text: 'hi' })).toBeUndefined();
  });

  it('takes http(s) URLs only, with a code', () => {
    const target = { url: 'http://127.0.0.1:9/x', events: ['result'], secret: 's'.repeat(16) };
    expect(checkWebhookTarget(target)).toEqual(target);
    for (const url of ['ftp://example.com', 'file:///etc/passwd', 'not a url', 42]) {
      expect(() => checkWebhookTarget({ ...target, url })).toThrow(
        expect.objectContaining({ code: 'VALIDATION_FAILED' }),
      );
    }
  });
});
