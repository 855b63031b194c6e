import { DEFAULT_CLAUDE_OPTIONS } from './claude.options';
import { ClaudePermissionGate, claudePermissionLaunch } from './claude-permissions';

/** A can_use_tool question as Claude Code 2.1.332 prints it (trimmed of fields we do not read). */
function canUseTool(
  cliRequestId: string,
  tool = 'Bash',
  input: Record<string, unknown> = { command: 'rm x' },
) {
  return {
    type: 'control_request',
    request_id: cliRequestId,
    request: {
      subtype: 'can_use_tool',
      tool_name: tool,
      display_name: tool,
      input,
      tool_use_id: `toolu_${cliRequestId}`,
      permission_suggestions: [],
    },
  };
}

describe('claudePermissionLaunch', () => {
  it('keeps the configured mode and allowed tools when the session names no policy', () => {
    expect(claudePermissionLaunch(undefined, DEFAULT_CLAUDE_OPTIONS)).toEqual({
      args: [
        '--permission-mode',
        'acceptEdits',
        '--allowedTools',
        DEFAULT_CLAUDE_OPTIONS.allowedTools.join(','),
      ],
      env: {},
    });
    expect(
      claudePermissionLaunch(undefined, { permissionMode: 'bypassPermissions', allowedTools: [] }),
    ).toEqual({ args: ['--permission-mode', 'bypassPermissions'], env: { IS_SANDBOX: '1' } });
  });

  it('maps each policy to the flags that make the CLI enforce it', () => {
    expect(claudePermissionLaunch('bypass', DEFAULT_CLAUDE_OPTIONS)).toEqual({
      args: ['--permission-mode', 'bypassPermissions'],
      env: { IS_SANDBOX: '1' },
    });
    const ask = claudePermissionLaunch('ask', DEFAULT_CLAUDE_OPTIONS);
    expect(ask.args).toEqual([
      '--permission-mode',
      'default',
      '--permission-prompt-tool',
      'stdio',
      '--settings',
      '{"permissions":{"ask":["*"]}}',
    ]);
    // No tool is allowed unasked.
    expect(ask.args).not.toContain('--allowedTools');
    const denyWrites = claudePermissionLaunch('deny-writes', DEFAULT_CLAUDE_OPTIONS);
    expect(denyWrites.args).toEqual([
      '--permission-mode',
      'default',
      '--permission-prompt-tool',
      'stdio',
      '--disallowedTools',
      'Edit,Write,MultiEdit,NotebookEdit',
    ]);
    expect(denyWrites.env).toEqual({});
  });
});

describe('ClaudePermissionGate', () => {
  let written: object[];
  const gate = (policy: 'ask' | 'deny-writes') =>
    new ClaudePermissionGate(policy, (message) => written.push(message));

  beforeEach(() => {
    written = [];
  });

  it('turns a question into a permission_request under an id of its own, and answers it once', () => {
    const ask = gate('ask');
    const drafts = ask.onLine(canUseTool('cli-1', 'Write', { file_path: 'a.txt' }));
    expect(drafts).toEqual([
      {
        type: 'permission_request',
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        tool: 'Write',
        input: { file_path: 'a.txt' },
        toolUseId: 'toolu_cli-1',
      },
    ]);
    const requestId = (drafts![0] as { requestId: string }).requestId;
    expect(requestId).not.toBe('cli-1');
    expect(written).toEqual([]);

    expect(ask.answer(requestId, { allow: true })).toBe(true);
    expect(written).toEqual([
      {
        type: 'control_response',
        response: {
          subtype: 'success',
          request_id: 'cli-1',
          response: { behavior: 'allow', updatedInput: { file_path: 'a.txt' } },
        },
      },
    ]);
    // Answered: a second answer, or one for an id never asked, reaches nobody.
    expect(ask.answer(requestId, { allow: false })).toBe(false);
    expect(ask.answer('unknown', { allow: true })).toBe(false);
    expect(written).toHaveLength(1);
  });

  it("tells the agent a denial's reason, or a default one", () => {
    const ask = gate('ask');
    const [first] = ask.onLine(canUseTool('cli-1'))! as Array<{ requestId: string }>;
    const [second] = ask.onLine(canUseTool('cli-2'))! as Array<{ requestId: string }>;
    ask.answer(second.requestId, { allow: false, reason: 'not here' });
    ask.answer(first.requestId, { allow: false });
    expect(written).toEqual([
      {
        type: 'control_response',
        response: {
          subtype: 'success',
          request_id: 'cli-2',
          response: { behavior: 'deny', message: 'not here' },
        },
      },
      {
        type: 'control_response',
        response: {
          subtype: 'success',
          request_id: 'cli-1',
          response: { behavior: 'deny', message: 'Denied by the user' },
        },
      },
    ]);
  });

  it('reports a question the agent withdraws as cancelled, and then refuses an answer to it', () => {
    const ask = gate('ask');
    const [asked] = ask.onLine(canUseTool('cli-1'))! as Array<{ requestId: string }>;
    expect(ask.onLine({ type: 'control_cancel_request', request_id: 'cli-1' })).toEqual([
      {
        type: 'permission_resolved',
        requestId: asked.requestId,
        allow: false,
        reason: 'withdrawn by the agent (the turn was interrupted)',
        by: 'cancelled',
      },
    ]);
    expect(ask.answer(asked.requestId, { allow: true })).toBe(false);
    // A cancel for something not (or no longer) asked is consumed and says nothing.
    expect(ask.onLine({ type: 'control_cancel_request', request_id: 'cli-1' })).toEqual([]);
    expect(written).toEqual([]);
  });

  it('forgets what a dead process asked', () => {
    const ask = gate('ask');
    const [asked] = ask.onLine(canUseTool('cli-1'))! as Array<{ requestId: string }>;
    ask.clear();
    expect(ask.answer(asked.requestId, { allow: true })).toBe(false);
    expect(written).toEqual([]);
  });

  it('with deny-writes, denies every question at once and emits nothing', () => {
    const denyWrites = gate('deny-writes');
    expect(denyWrites.onLine(canUseTool('cli-9', 'Bash', { command: 'echo x > f' }))).toEqual([]);
    expect(written).toEqual([
      {
        type: 'control_response',
        response: {
          subtype: 'success',
          request_id: 'cli-9',
          response: {
            behavior: 'deny',
            message: expect.stringContaining("this session's permissions are deny-writes"),
          },
        },
      },
    ]);
  });

  it('leaves every other line to the stream normalizer', () => {
    const ask = gate('ask');
    expect(ask.onLine({ type: 'assistant' })).toBeUndefined();
    expect(ask.onLine({ type: 'control_response' })).toBeUndefined();
    expect(
      ask.onLine({ type: 'control_request', request_id: 'x', request: { subtype: 'other' } }),
    ).toBeUndefined();
  });
});
