import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  PromptResponse,
  RequestPermissionRequest,
  RequestPermissionResponse,
  SessionNotification,
  SessionUpdate,
} from '@agentclientprotocol/sdk';
import type { ModelInfo, SessionEventDraft } from '@jelmore/contracts';
import { AcpTurnNormalizer, promptUsage } from './acp-turn.normalizer';

/** What the agent said during one `session/prompt`, in the order it arrived, and the prompt's answer. */
type Step =
  | { kind: 'update'; update: SessionUpdate }
  | { kind: 'permission'; params: RequestPermissionRequest }
  | { kind: 'answer'; params: RequestPermissionRequest; response: RequestPermissionResponse };

interface Turn {
  steps: Step[];
  response: PromptResponse;
}

interface Line {
  dir: 'in' | 'out';
  msg: {
    id?: number;
    method?: string;
    params?: unknown;
    result?: unknown;
  };
}

/** The recording's prompt turns (lines outside a turn, such as set_mode's chunk, are left out). */
function turns(name: string): Turn[] {
  const lines = readFileSync(join(__dirname, 'recordings', name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
  const out: Turn[] = [];
  const asked = new Map<number, RequestPermissionRequest>();
  let current: { id: number; steps: Step[] } | undefined;
  for (const { dir, msg } of lines) {
    if (dir === 'out' && msg.method === 'session/prompt') {
      current = { id: msg.id!, steps: [] };
    } else if (!current) {
      continue;
    } else if (dir === 'in' && msg.method === 'session/update' && msg.id === undefined) {
      current.steps.push({
        kind: 'update',
        update: (msg.params as SessionNotification).update,
      });
    } else if (dir === 'in' && msg.method === 'session/request_permission') {
      const params = msg.params as RequestPermissionRequest;
      asked.set(msg.id!, params);
      current.steps.push({ kind: 'permission', params });
    } else if (dir === 'out' && msg.method === undefined && asked.has(msg.id!)) {
      current.steps.push({
        kind: 'answer',
        params: asked.get(msg.id!)!,
        response: msg.result as RequestPermissionResponse,
      });
    } else if (dir === 'in' && msg.method === undefined && msg.id === current.id) {
      out.push({ steps: current.steps, response: msg.result as PromptResponse });
      current = undefined;
    }
  }
  return out;
}

/** Plays a turn as AcpSession does: updates, asked() on a permission request, refused() on a rejection. */
function play(normalizer: AcpTurnNormalizer, turn: Turn): SessionEventDraft[] {
  const drafts: SessionEventDraft[] = [];
  for (const step of turn.steps) {
    if (step.kind === 'update') drafts.push(...normalizer.push(step.update));
    else if (step.kind === 'permission') drafts.push(...normalizer.asked(step.params.toolCall));
    else {
      const { outcome } = step.response;
      const option =
        outcome.outcome === 'selected'
          ? step.params.options.find((o) => o.optionId === outcome.optionId)
          : undefined;
      if (option?.kind !== 'allow_once' && option?.kind !== 'allow_always') {
        drafts.push(
          ...normalizer.refused(step.params.toolCall.toolCallId, 'Denied: permission refused'),
        );
      }
    }
  }
  drafts.push(...normalizer.finish(turn.response.stopReason, promptUsage(turn.response)));
  return drafts;
}

function ofType<T extends SessionEventDraft['type']>(
  drafts: SessionEventDraft[],
  type: T,
): Extract<SessionEventDraft, { type: T }>[] {
  return drafts.filter((d): d is Extract<SessionEventDraft, { type: T }> => d.type === type);
}

/** The drafts without the result's duration, which depends on the clock. */
function stable(drafts: SessionEventDraft[]): unknown[] {
  return drafts.map((d) => (d.type === 'result' ? { ...d, durationMs: 'any' } : d));
}

const FLASH: ModelInfo = {
  id: 'gemini-2.5-flash',
  aliases: [],
  provider: 'gemini',
  contextWindow: 1_048_576,
  inputPricePerMTok: 0.3,
  outputPricePerMTok: 2.5,
};
const DEEPSEEK: ModelInfo = {
  id: 'deepseek-chat',
  aliases: [],
  provider: 'opencode',
  contextWindow: 128_000,
  inputPricePerMTok: 0.27,
  outputPricePerMTok: 1.1,
};

describe('AcpTurnNormalizer', () => {
  describe('text turns', () => {
    it.each([
      ['gemini-text.jsonl', FLASH],
      ['opencode-text.jsonl', DEEPSEEK],
    ])('%s: one assistant piece per chunk, the result text their concatenation', (file, model) => {
      const [turn] = turns(file);
      const drafts = play(new AcpTurnNormalizer(model), turn);
      expect(ofType(drafts, 'assistant').map((d) => d.text)).toEqual([
        'Echo: ',
        'Hello ',
        'there, ',
        'say ',
        'something',
      ]);
      const [result] = ofType(drafts, 'result');
      expect(result.text).toBe('Echo: Hello there, say something');
      expect(result.interrupted).toBeUndefined();
      expect(drafts[drafts.length - 1]).toBe(result);
      expect(ofType(drafts, 'tool_use')).toEqual([]);
    });

    it('ignores available_commands_update (the first update of the turn)', () => {
      const [turn] = turns('gemini-text.jsonl');
      const first = turn.steps[0];
      expect(first.kind === 'update' && first.update.sessionUpdate).toBe(
        'available_commands_update',
      );
      expect(
        new AcpTurnNormalizer(FLASH).push((first as { update: SessionUpdate }).update),
      ).toEqual([]);
    });
  });

  describe('tool turns', () => {
    it('opencode-tool, allowed: tool_use with the command (told after the pending call), then one tool_result', () => {
      const [allowed] = turns('opencode-tool.jsonl');
      const drafts = play(new AcpTurnNormalizer(DEEPSEEK), allowed);
      expect(stable(drafts)).toEqual([
        {
          type: 'tool_use',
          id: 'call_chatcmpl-fake-2',
          name: 'bash',
          input: {
            command: 'echo allowed > allowed.txt && pwd',
            cwd: '/tmp/acp/rec/opencode-tool/ws',
            description: 'run',
          },
        },
        {
          type: 'tool_result',
          toolUseId: 'call_chatcmpl-fake-2',
          output: '/tmp/acp/rec/opencode-tool/ws\n',
          isError: false,
        },
        { type: 'assistant', text: 'Tool ' },
        { type: 'assistant', text: 'finished' },
        { type: 'assistant', text: '.' },
        { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0.00098, estimated: true },
        { type: 'usage', inputTokens: 1000, outputTokens: 200, costUsd: 0.00098 },
        {
          type: 'result',
          text: 'Tool finished.',
          durationMs: 'any',
          usage: { inputTokens: 1000, outputTokens: 200, costUsd: 0.00098 },
        },
      ]);
    });

    it('a pending call waits for more; the first update announces it, repeated ones add nothing', () => {
      const [allowed] = turns('opencode-tool.jsonl');
      const normalizer = new AcpTurnNormalizer(DEEPSEEK);
      const updates = allowed.steps.flatMap((s) => (s.kind === 'update' ? [s.update] : []));
      const inProgress = updates.filter(
        (u) => u.sessionUpdate === 'tool_call_update' && u.status === 'in_progress',
      );
      expect(inProgress).toHaveLength(3);
      expect(normalizer.push(updates.find((u) => u.sessionUpdate === 'tool_call')!)).toEqual([]);
      expect(normalizer.push(inProgress[0])).toMatchObject([
        { type: 'tool_use', id: 'call_chatcmpl-fake-2' },
      ]);
      for (const update of inProgress.slice(1)) expect(normalizer.push(update)).toEqual([]);
    });

    it('opencode-tool, rejected: the refusal is the one failed tool_result; the agent’s own failed update adds none', () => {
      const [, rejected] = turns('opencode-tool.jsonl');
      const drafts = play(new AcpTurnNormalizer(DEEPSEEK, 0.00098), rejected);
      expect(ofType(drafts, 'tool_use')).toEqual([
        {
          type: 'tool_use',
          id: 'call_chatcmpl-fake-4',
          name: 'bash',
          input: { command: 'echo rejected > rejected.txt' },
        },
      ]);
      expect(ofType(drafts, 'tool_result')).toEqual([
        {
          type: 'tool_result',
          toolUseId: 'call_chatcmpl-fake-4',
          output: 'Denied: permission refused',
          isError: true,
        },
      ]);
    });

    it('opencode-tool, rejected, without refused(): the agent’s failed update is the tool_result', () => {
      const [, rejected] = turns('opencode-tool.jsonl');
      const normalizer = new AcpTurnNormalizer(DEEPSEEK, 0.00098);
      const drafts = rejected.steps.flatMap((s) =>
        s.kind === 'update' ? normalizer.push(s.update) : [],
      );
      expect(ofType(drafts, 'tool_result')).toEqual([
        {
          type: 'tool_result',
          toolUseId: 'call_chatcmpl-fake-4',
          output: 'The user rejected permission to use this specific tool call.',
          isError: true,
        },
      ]);
      // The agent already ended the call: a refusal afterwards adds nothing.
      expect(normalizer.refused('call_chatcmpl-fake-4', 'Denied: permission refused')).toEqual([]);
    });

    it('gemini-tool, allowed: the tool first seen in the permission request is announced once', () => {
      const [allowed] = turns('gemini-tool.jsonl');
      const normalizer = new AcpTurnNormalizer(FLASH);
      const id = 'run_shell_command__run_shell_command_1796402737775_0';
      const drafts = play(normalizer, allowed);
      expect(ofType(drafts, 'tool_use')).toEqual([
        { type: 'tool_use', id, name: 'echo allowed > allowed.txt && pwd', input: {} },
      ]);
      expect(ofType(drafts, 'tool_result')).toEqual([
        { type: 'tool_result', toolUseId: id, output: '', isError: false },
      ]);
      expect(drafts.findIndex((d) => d.type === 'tool_use')).toBe(0);
      expect(drafts.findIndex((d) => d.type === 'tool_result')).toBe(1);
      // Asked again about the same call: nothing new.
      const permission = allowed.steps.find((s) => s.kind === 'permission')!;
      expect(
        normalizer.asked((permission as { params: RequestPermissionRequest }).params.toolCall),
      ).toEqual([]);
    });

    it('gemini-tool, rejected: no update at all, so the refusal is the failed tool_result', () => {
      const [, rejected] = turns('gemini-tool.jsonl');
      expect(
        rejected.steps.some(
          (s) => s.kind === 'update' && s.update.sessionUpdate.startsWith('tool_call'),
        ),
      ).toBe(false);
      const id = 'run_shell_command__run_shell_command_1796402738033_0';
      const drafts = play(new AcpTurnNormalizer(FLASH), rejected);
      expect(drafts.slice(0, 2)).toEqual([
        { type: 'tool_use', id, name: 'echo rejected > rejected.txt', input: {} },
        { type: 'tool_result', toolUseId: id, output: 'Denied: permission refused', isError: true },
      ]);
      expect(ofType(drafts, 'tool_result')).toHaveLength(1);
    });

    it('gemini-tool, yolo: tool_call in_progress then completed, without permission', () => {
      const all = turns('gemini-tool.jsonl');
      expect(all).toHaveLength(3);
      const id = 'run_shell_command__run_shell_command_1796402738151_0';
      const drafts = play(new AcpTurnNormalizer(FLASH), all[2]);
      expect(drafts.slice(0, 2)).toEqual([
        { type: 'tool_use', id, name: 'echo yolo > yolo.txt', input: {} },
        { type: 'tool_result', toolUseId: id, output: '', isError: false },
      ]);
      expect(ofType(drafts, 'tool_result')).toHaveLength(1);
    });

    it('gemini-edit: write_file announced from the request with its location; the diff is the output', () => {
      const [allowed, rejected] = turns('gemini-edit.jsonl');
      const id = 'write_file__write_file_1796402787702_0';
      const path = '/tmp/acp/rec/gemini-edit/ws/allowed.txt';
      const drafts = play(new AcpTurnNormalizer(FLASH), allowed);
      expect(drafts.slice(0, 2)).toEqual([
        { type: 'tool_use', id, name: 'Writing to allowed.txt', input: { locations: [{ path }] } },
        { type: 'tool_result', toolUseId: id, output: `diff ${path}`, isError: false },
      ]);
      expect(ofType(drafts, 'tool_result')).toHaveLength(1);

      const refusedDrafts = play(new AcpTurnNormalizer(FLASH), rejected);
      expect(ofType(refusedDrafts, 'tool_result')).toEqual([
        {
          type: 'tool_result',
          toolUseId: 'write_file__write_file_1796402787955_0',
          output: 'Denied: permission refused',
          isError: true,
        },
      ]);
    });

    it('opencode-edit, allowed: write announced as "write", its rawOutput text the output', () => {
      const [allowed] = turns('opencode-edit.jsonl');
      const drafts = play(new AcpTurnNormalizer(DEEPSEEK), allowed);
      expect(ofType(drafts, 'tool_use')).toEqual([
        {
          type: 'tool_use',
          id: 'call_chatcmpl-fake-2',
          name: 'write',
          input: { content: 'hello note', filePath: '/tmp/acp/rec/opencode-edit/ws/allowed.txt' },
        },
      ]);
      expect(ofType(drafts, 'tool_result')).toEqual([
        {
          type: 'tool_result',
          toolUseId: 'call_chatcmpl-fake-2',
          output: 'Wrote file successfully.',
          isError: false,
        },
      ]);
    });

    it('refused() about a call never announced gives nothing', () => {
      expect(new AcpTurnNormalizer(FLASH).refused('nope', 'Denied')).toEqual([]);
    });
  });

  describe('usage', () => {
    it('opencode: usage_update cost is an estimated usage; the turn costs the reported cost minus the cost before', () => {
      const [first, second] = turns('opencode-tool.jsonl');
      const one = new AcpTurnNormalizer(DEEPSEEK);
      const firstDrafts = play(one, first);
      expect(one.agentCost).toBe(0.00098);

      const two = new AcpTurnNormalizer(DEEPSEEK, one.agentCost);
      const drafts = play(two, second);
      expect(ofType(drafts, 'usage')).toEqual([
        { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0.00049, estimated: true },
        { type: 'usage', inputTokens: 1000, outputTokens: 200, costUsd: 0.00049 },
      ]);
      expect(ofType(drafts, 'result')[0].usage).toEqual({
        inputTokens: 1000,
        outputTokens: 200,
        costUsd: 0.00049,
      });
      expect(two.agentCost).toBe(0.00147);
      // Not priced from the models table: the agent's own cost wins.
      expect(ofType(firstDrafts, 'result')[0].usage.costUsd).toBe(0.00098);
    });

    it('opencode: a usage_update that does not raise the cost emits nothing', () => {
      const normalizer = new AcpTurnNormalizer(DEEPSEEK, 0.5);
      expect(
        normalizer.push({
          sessionUpdate: 'usage_update',
          used: 10,
          size: 100,
          cost: { amount: 0.5, currency: 'USD' },
        }),
      ).toEqual([]);
      expect(
        normalizer.push({
          sessionUpdate: 'usage_update',
          used: 10,
          size: 100,
          cost: { amount: 9, currency: 'EUR' },
        }),
      ).toEqual([]);
      expect(normalizer.finish('end_turn', undefined)[0]).toEqual({
        type: 'usage',
        inputTokens: 0,
        outputTokens: 0,
        costUsd: 0,
      });
    });

    it('gemini: only the answer’s _meta.quota.token_count has tokens; they are priced from the model', () => {
      const [turn] = turns('gemini-text.jsonl');
      expect((turn.response as { usage?: unknown }).usage).toBeUndefined();
      expect(promptUsage(turn.response)).toEqual({ inputTokens: 1200, outputTokens: 30 });
      const drafts = play(new AcpTurnNormalizer(FLASH), turn);
      // 1200 × $0.30/M + 30 × $2.50/M
      const usage = { inputTokens: 1200, outputTokens: 30, costUsd: 0.000435 };
      expect(ofType(drafts, 'usage')).toEqual([{ type: 'usage', ...usage }]);
      expect(ofType(drafts, 'result')[0].usage).toEqual(usage);
    });

    it('promptUsage: the protocol’s usage wins over _meta; nothing when neither is there', () => {
      expect(
        promptUsage({
          stopReason: 'end_turn',
          usage: { inputTokens: 5, outputTokens: 7, totalTokens: 12 },
          _meta: { quota: { token_count: { input_tokens: 1, output_tokens: 2 } } },
        } as PromptResponse),
      ).toEqual({ inputTokens: 5, outputTokens: 7, totalTokens: 12 });
      expect(promptUsage({ stopReason: 'cancelled' })).toBeUndefined();
      expect(promptUsage({ stopReason: 'end_turn', _meta: {} })).toBeUndefined();
    });

    it('prices cached and thought tokens from the answer’s usage', () => {
      const normalizer = new AcpTurnNormalizer(FLASH);
      const [usage] = normalizer.finish('end_turn', {
        inputTokens: 1000,
        cachedReadTokens: 10_000,
        outputTokens: 100,
        thoughtTokens: 300,
      });
      // (1000 + 10000 × 0.1) × 0.3/M + 400 × 2.5/M = 0.0006 + 0.001
      expect(usage).toEqual({
        type: 'usage',
        inputTokens: 11_000,
        outputTokens: 400,
        costUsd: 0.0016,
      });
    });
  });

  describe('cancelled turns', () => {
    it('gemini-cancel: the pieces so far, result interrupted', () => {
      const [cancelled, next] = turns('gemini-cancel.jsonl');
      expect(cancelled.response).toEqual({ stopReason: 'cancelled' });
      const drafts = play(new AcpTurnNormalizer(FLASH), cancelled);
      expect(stable(drafts.slice(-2))).toEqual([
        { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0 },
        {
          type: 'result',
          text: 'piece 1. piece 2. piece 3. ',
          durationMs: 'any',
          usage: { inputTokens: 0, outputTokens: 0, costUsd: 0 },
          interrupted: true,
        },
      ]);
      const after = play(new AcpTurnNormalizer(FLASH), next);
      expect(ofType(after, 'result')[0].interrupted).toBeUndefined();
      expect(ofType(after, 'result')[0].text).toBe('Echo: What happened before?');
    });

    it('opencode-cancel: a zero cost update adds nothing; the next turn counts its own cost', () => {
      const [cancelled, next] = turns('opencode-cancel.jsonl');
      const one = new AcpTurnNormalizer(DEEPSEEK);
      const drafts = play(one, cancelled);
      expect(ofType(drafts, 'usage')).toEqual([
        { type: 'usage', inputTokens: 0, outputTokens: 0, costUsd: 0 },
      ]);
      const [result] = ofType(drafts, 'result');
      expect(result.interrupted).toBe(true);
      expect(result.text).toBe('piece 1. piece 2. piece 3. ');
      expect(one.agentCost).toBe(0);

      const two = new AcpTurnNormalizer(DEEPSEEK, one.agentCost);
      const nextDrafts = play(two, next);
      expect(ofType(nextDrafts, 'result')[0]).toMatchObject({
        usage: { inputTokens: 1000, outputTokens: 200, costUsd: 0.00049 },
      });
      expect(ofType(nextDrafts, 'result')[0].interrupted).toBeUndefined();
    });
  });
});
