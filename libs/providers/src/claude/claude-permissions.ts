import { randomUUID } from 'node:crypto';
import type { PermissionDecision, PermissionPolicy, SessionEventDraft } from '@jelmore/contracts';
import type { ClaudeOptions } from './claude.options';

/** Tools that change files: `deny-writes` takes them away from the model altogether. */
export const CLAUDE_WRITE_TOOLS = ['Edit', 'Write', 'MultiEdit', 'NotebookEdit'] as const;

/** What the CLI needs to enforce a session's permission policy. */
export interface ClaudePermissionLaunch {
  args: string[];
  env: Record<string, string>;
}

/** The CLI refuses bypass mode as root unless it is told it runs sandboxed. */
const SANDBOX = { IS_SANDBOX: '1' };

/**
 * The CLI flags and environment of a permission policy (none: the configured mode and allowed tools).
 * `ask` and `deny-writes` start the CLI with `--permission-prompt-tool stdio`, so that it asks us on
 * stdout (see ClaudePermissionGate) instead of deciding alone. A process started with other flags
 * cannot serve such a session: whatever pre-starts processes must key them on these.
 */
export function claudePermissionLaunch(
  policy: PermissionPolicy | undefined,
  options: Pick<ClaudeOptions, 'permissionMode' | 'allowedTools'>,
): ClaudePermissionLaunch {
  switch (policy) {
    case undefined:
      return {
        args: [
          '--permission-mode',
          options.permissionMode,
          ...(options.allowedTools.length
            ? ['--allowedTools', options.allowedTools.join(',')]
            : []),
        ],
        env: options.permissionMode === 'bypassPermissions' ? SANDBOX : {},
      };
    case 'bypass':
      return { args: ['--permission-mode', 'bypassPermissions'], env: SANDBOX };
    case 'ask':
      // In default mode the CLI lets reads and read-only commands run unasked; an ask rule for every
      // tool (`*`) makes it ask about each call.
      return {
        args: [
          '--permission-mode',
          'default',
          '--permission-prompt-tool',
          'stdio',
          '--settings',
          JSON.stringify({ permissions: { ask: ['*'] } }),
        ],
        env: {},
      };
    case 'deny-writes':
      // Default mode runs what the CLI knows only reads (Read, Glob, Grep inside the cwd, commands such
      // as ls or cat); it asks about anything else, and the gate denies that at once.
      return {
        args: [
          '--permission-mode',
          'default',
          '--permission-prompt-tool',
          'stdio',
          '--disallowedTools',
          CLAUDE_WRITE_TOOLS.join(','),
        ],
        env: {},
      };
    default: {
      const unknown: never = policy;
      throw new Error(`Unknown permission policy ${String(unknown)}`);
    }
  }
}

/** The parts of the CLI's permission control messages that Jelmore reads. */
interface ControlLine {
  type?: string;
  request_id?: string;
  request?: {
    subtype?: string;
    tool_name?: string;
    input?: Record<string, unknown>;
    tool_use_id?: string;
  };
}

interface Asked {
  cliRequestId: string;
  input: Record<string, unknown>;
}

/**
 * The CLI's side of tool permissions, for a process started with `--permission-prompt-tool stdio`
 * (Claude Code 2.1.332, checked against the real binary). Before a tool call it prints
 * `{"type":"control_request","request_id":R,"request":{"subtype":"can_use_tool","tool_name","input",
 * "tool_use_id",...}}` and waits for `{"type":"control_response","response":{"subtype":"success",
 * "request_id":R,"response":{"behavior":"allow","updatedInput":{...}}|{"behavior":"deny","message"}}}`
 * on stdin; a denial's message becomes the call's error tool_result. A question it no longer needs
 * (the turn was interrupted) it withdraws with `{"type":"control_cancel_request","request_id":R}`.
 *
 * With `ask` each question becomes a `permission_request` event under an id of ours; with `deny-writes`
 * every question is denied at once, without an event.
 */
export class ClaudePermissionGate {
  private readonly asked = new Map<string, Asked>();

  constructor(
    private readonly policy: 'ask' | 'deny-writes',
    private readonly write: (message: object) => void,
  ) {}

  /** The drafts a permission line makes, or undefined when the line is no part of the protocol. */
  onLine(line: ControlLine): SessionEventDraft[] | undefined {
    if (line.type === 'control_request' && line.request?.subtype === 'can_use_tool') {
      return this.onAsk(line.request_id ?? '', line.request);
    }
    if (line.type === 'control_cancel_request') {
      for (const [requestId, asked] of this.asked) {
        if (asked.cliRequestId !== line.request_id) continue;
        this.asked.delete(requestId);
        return [
          {
            type: 'permission_resolved',
            requestId,
            allow: false,
            reason: 'withdrawn by the agent (the turn was interrupted)',
            by: 'cancelled',
          },
        ];
      }
      return [];
    }
    return undefined;
  }

  /** Answers a request of this process; false when it is not waiting (answered, withdrawn). */
  answer(requestId: string, decision: PermissionDecision): boolean {
    const asked = this.asked.get(requestId);
    if (!asked) return false;
    this.asked.delete(requestId);
    this.respond(asked.cliRequestId, decision, asked.input);
    return true;
  }

  /** The process is gone: nothing it asked can be answered any more. */
  clear(): void {
    this.asked.clear();
  }

  private onAsk(
    cliRequestId: string,
    request: NonNullable<ControlLine['request']>,
  ): SessionEventDraft[] {
    const tool = request.tool_name ?? 'unknown';
    const input = request.input ?? {};
    if (this.policy === 'deny-writes') {
      this.respond(cliRequestId, {
        allow: false,
        reason: `Denied: this session's permissions are deny-writes, and ${tool} here may change files or run more than a read`,
      });
      return [];
    }
    const requestId = randomUUID();
    this.asked.set(requestId, { cliRequestId, input });
    return [
      {
        type: 'permission_request',
        requestId,
        tool,
        input,
        ...(request.tool_use_id ? { toolUseId: request.tool_use_id } : {}),
      },
    ];
  }

  private respond(
    cliRequestId: string,
    decision: PermissionDecision,
    input: Record<string, unknown> = {},
  ): void {
    this.write({
      type: 'control_response',
      response: {
        subtype: 'success',
        request_id: cliRequestId,
        response: decision.allow
          ? { behavior: 'allow', updatedInput: input }
          : { behavior: 'deny', message: decision.reason || 'Denied by the user' },
      },
    });
  }
}
