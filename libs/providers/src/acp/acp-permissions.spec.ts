import type {
  PermissionOption,
  RequestPermissionRequest,
  RequestPermissionResponse,
  ToolKind,
} from '@agentclientprotocol/sdk';
import type { PermissionPolicy, SessionEventDraft } from '@jelmore/contracts';
import { AcpPermissionGate, allowed } from './acp-permissions';

/** OpenCode's options (opencode-tool.jsonl). */
const OPENCODE_OPTIONS: PermissionOption[] = [
  { optionId: 'once', kind: 'allow_once', name: 'Allow once' },
  { optionId: 'always', kind: 'allow_always', name: 'Always allow' },
  { optionId: 'reject', kind: 'reject_once', name: 'Reject' },
];

function request(
  kind: ToolKind | undefined,
  options: PermissionOption[] = OPENCODE_OPTIONS,
): RequestPermissionRequest {
  return {
    sessionId: 'ses_1',
    options,
    toolCall: {
      toolCallId: 'call_chatcmpl-fake-2',
      title: 'echo allowed > allowed.txt && pwd',
      status: 'pending',
      locations: [],
      rawInput: { command: 'echo allowed > allowed.txt && pwd' },
      ...(kind ? { kind } : {}),
    },
  };
}

function gate(policy: PermissionPolicy) {
  const emitted: SessionEventDraft[] = [];
  return { gate: new AcpPermissionGate(policy, (d) => emitted.push(d)), emitted };
}

function selected(optionId: string): RequestPermissionResponse {
  return { outcome: { outcome: 'selected', optionId } };
}

const CANCELLED: RequestPermissionResponse = { outcome: { outcome: 'cancelled' } };

describe('AcpPermissionGate', () => {
  describe('bypass', () => {
    it('picks allow_once at once, emitting nothing', () => {
      const { gate: g, emitted } = gate('bypass');
      expect(g.request(request('execute'))).toEqual(selected('once'));
      expect(emitted).toEqual([]);
    });

    it('picks allow_always when that is the only allow option', () => {
      const { gate: g } = gate('bypass');
      const options: PermissionOption[] = [
        { optionId: 'cancel', kind: 'reject_once', name: 'Reject' },
        { optionId: 'proceed_always', kind: 'allow_always', name: 'Allow for this session' },
      ];
      expect(g.request(request('edit', options))).toEqual(selected('proceed_always'));
    });

    it('no allow option at all: cancelled', () => {
      const { gate: g } = gate('bypass');
      const options: PermissionOption[] = [
        { optionId: 'no', kind: 'reject_once', name: 'No' },
        { optionId: 'never', kind: 'reject_always', name: 'Never' },
      ];
      expect(g.request(request('execute', options))).toEqual(CANCELLED);
    });
  });

  describe('deny-writes', () => {
    it.each<ToolKind>(['read', 'search', 'think', 'fetch'])('allows kind %s at once', (kind) => {
      const { gate: g, emitted } = gate('deny-writes');
      expect(g.request(request(kind))).toEqual(selected('once'));
      expect(emitted).toEqual([]);
    });

    it.each<[string, ToolKind | undefined]>([
      ['edit', 'edit'],
      ['execute', 'execute'],
      ['delete', 'delete'],
      ['no kind', undefined],
    ])('rejects %s at once without emitting', (_, kind) => {
      const { gate: g, emitted } = gate('deny-writes');
      const response = g.request(request(kind));
      expect(response).not.toBeInstanceOf(Promise);
      expect(response).toEqual(selected('reject'));
      expect(emitted).toEqual([]);
    });

    it('rejects with reject_always when there is no reject_once; cancelled with no reject option', () => {
      const { gate: g } = gate('deny-writes');
      const always: PermissionOption[] = [
        { optionId: 'ok', kind: 'allow_once', name: 'OK' },
        { optionId: 'never', kind: 'reject_always', name: 'Never' },
      ];
      expect(g.request(request('execute', always))).toEqual(selected('never'));
      expect(
        g.request(request('execute', [{ optionId: 'ok', kind: 'allow_once', name: 'OK' }])),
      ).toEqual(CANCELLED);
    });
  });

  describe('ask', () => {
    it('emits one permission_request and settles with the option of the answer', async () => {
      const { gate: g, emitted } = gate('ask');
      const pending = g.request(request('execute'));
      expect(pending).toBeInstanceOf(Promise);
      expect(emitted).toHaveLength(1);
      const [event] = emitted as Extract<SessionEventDraft, { type: 'permission_request' }>[];
      expect(event).toEqual({
        type: 'permission_request',
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        tool: 'echo allowed > allowed.txt && pwd',
        input: { command: 'echo allowed > allowed.txt && pwd' },
        toolUseId: 'call_chatcmpl-fake-2',
      });

      expect(g.answer(event.requestId, { allow: true })).toBe(true);
      await expect(pending).resolves.toEqual(selected('once'));
      // Already answered.
      expect(g.answer(event.requestId, { allow: false })).toBe(false);
      expect(emitted).toHaveLength(1);
    });

    it('a denial settles with reject_once', async () => {
      const { gate: g, emitted } = gate('ask');
      const pending = g.request(request('edit'));
      const [event] = emitted as Extract<SessionEventDraft, { type: 'permission_request' }>[];
      expect(g.answer(event.requestId, { allow: false, reason: 'no' })).toBe(true);
      await expect(pending).resolves.toEqual(selected('reject'));
    });

    it('a request with neither title, kind nor rawInput: tool "tool", input its locations', () => {
      const { gate: g, emitted } = gate('ask');
      void g.request({
        sessionId: 's',
        options: OPENCODE_OPTIONS,
        toolCall: { toolCallId: 't1', locations: [{ path: '/ws/a.txt' }] },
      });
      void g.request({ sessionId: 's', options: OPENCODE_OPTIONS, toolCall: { toolCallId: 't2' } });
      expect(emitted).toEqual([
        {
          type: 'permission_request',
          requestId: expect.any(String),
          tool: 'tool',
          input: { locations: [{ path: '/ws/a.txt' }] },
          toolUseId: 't1',
        },
        {
          type: 'permission_request',
          requestId: expect.any(String),
          tool: 'tool',
          input: {},
          toolUseId: 't2',
        },
      ]);
    });

    it('the agent taking its question back resolves it as withdrawn and settles cancelled', async () => {
      const { gate: g, emitted } = gate('ask');
      const taken = new AbortController();
      const settled = g.request(request('execute'), taken.signal);
      const asked = emitted[0] as Extract<SessionEventDraft, { type: 'permission_request' }>;
      taken.abort();
      await expect(settled).resolves.toEqual({ outcome: { outcome: 'cancelled' } });
      expect(emitted[1]).toEqual({
        type: 'permission_resolved',
        requestId: asked.requestId,
        allow: false,
        reason: 'withdrawn by the agent',
        by: 'cancelled',
      });
      // A client's late answer finds nothing to answer.
      expect(g.answer(asked.requestId, { allow: true })).toBe(false);
    });

    it('answering an unknown request: false', () => {
      const { gate: g } = gate('ask');
      expect(g.answer('nope', { allow: true })).toBe(false);
    });

    it('withdrawAll(reason, true): permission_resolved by cancelled for each, all settle cancelled', async () => {
      const { gate: g, emitted } = gate('ask');
      const first = g.request(request('execute'));
      const second = g.request(request('edit'));
      const ids = (emitted as Extract<SessionEventDraft, { type: 'permission_request' }>[]).map(
        (e) => e.requestId,
      );
      expect(new Set(ids).size).toBe(2);

      g.withdrawAll('withdrawn: the turn was interrupted', true);
      expect(emitted.slice(2)).toEqual(
        ids.map((requestId) => ({
          type: 'permission_resolved',
          requestId,
          allow: false,
          reason: 'withdrawn: the turn was interrupted',
          by: 'cancelled',
        })),
      );
      await expect(first).resolves.toEqual(CANCELLED);
      await expect(second).resolves.toEqual(CANCELLED);
      // Withdrawn: a late answer finds nothing.
      expect(g.answer(ids[0], { allow: true })).toBe(false);
    });

    it('withdrawAll(reason, false) settles without emitting; nothing open: nothing happens', async () => {
      const { gate: g, emitted } = gate('ask');
      const pending = g.request(request('execute'));
      g.withdrawAll('the agent stopped', false);
      await expect(pending).resolves.toEqual(CANCELLED);
      expect(emitted.map((e) => e.type)).toEqual(['permission_request']);
      g.withdrawAll('again', true);
      expect(emitted).toHaveLength(1);
    });
  });
});

describe('allowed', () => {
  const req = request('execute', [
    ...OPENCODE_OPTIONS,
    { optionId: 'never', kind: 'reject_always', name: 'Never' },
  ]);

  it.each<[string, boolean, RequestPermissionResponse]>([
    ['allow_once', true, selected('once')],
    ['allow_always', true, selected('always')],
    ['reject_once', false, selected('reject')],
    ['reject_always', false, selected('never')],
    ['an option the request did not offer', false, selected('maybe')],
    ['cancelled', false, CANCELLED],
  ])('%s → %s', (_, expected, response) => {
    expect(allowed(req, response)).toBe(expected);
  });
});
