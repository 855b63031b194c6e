import { randomUUID } from 'node:crypto';
import type {
  PermissionOption,
  RequestPermissionRequest,
  RequestPermissionResponse,
  ToolKind,
} from '@agentclientprotocol/sdk';
import type { PermissionDecision, PermissionPolicy, SessionEventDraft } from '@jelmore/contracts';

/** Tool kinds that only look: `deny-writes` lets them run. Anything else may change or run something. */
const READ_ONLY_KINDS: ReadonlySet<ToolKind> = new Set(['read', 'search', 'think', 'fetch']);

interface Asked {
  options: PermissionOption[];
  settle: (response: RequestPermissionResponse) => void;
}

/**
 * A session's permission policy applied to an ACP agent's `session/request_permission`: `bypass`
 * allows at once, `deny-writes` allows tool kinds that only read and rejects the rest at once, `ask`
 * turns the request into a `permission_request` event and answers the agent when a client decides
 * (through SessionsService, like every provider's). A request about a tool call the agent never
 * announced is still decided by the policy, with what the request itself says of the call.
 */
export class AcpPermissionGate {
  private readonly asked = new Map<string, Asked>();

  constructor(
    private readonly policy: PermissionPolicy,
    private readonly emit: (draft: SessionEventDraft) => void,
  ) {}

  /** `withdrawn` aborts when the agent takes the question back (`$/cancel_request`). */
  request(
    params: RequestPermissionRequest,
    withdrawn?: AbortSignal,
  ): Promise<RequestPermissionResponse> | RequestPermissionResponse {
    const { toolCall, options } = params;
    switch (this.policy) {
      case 'bypass':
        return choose(options, true);
      case 'deny-writes':
        return choose(options, !!toolCall.kind && READ_ONLY_KINDS.has(toolCall.kind));
      case 'ask': {
        const requestId = randomUUID();
        this.emit({
          type: 'permission_request',
          requestId,
          tool: toolCall.title || toolCall.kind || 'tool',
          input:
            toolCall.rawInput ??
            (toolCall.locations?.length ? { locations: toolCall.locations } : {}),
          toolUseId: toolCall.toolCallId,
        });
        withdrawn?.addEventListener('abort', () => this.withdraw(requestId), { once: true });
        return new Promise((settle) => this.asked.set(requestId, { options, settle }));
      }
      default: {
        const unknown: never = this.policy;
        throw new Error(`Unknown permission policy ${String(unknown)}`);
      }
    }
  }

  /** Answers a request still waiting; false when it is not (answered, or withdrawn by an interrupt). */
  answer(requestId: string, decision: PermissionDecision): boolean {
    const asked = this.asked.get(requestId);
    if (!asked) return false;
    this.asked.delete(requestId);
    asked.settle(choose(asked.options, decision.allow));
    return true;
  }

  /** The agent took one question back: resolved in the log as withdrawn, answered `cancelled`. */
  private withdraw(requestId: string): void {
    const asked = this.asked.get(requestId);
    if (!asked) return;
    this.asked.delete(requestId);
    this.emit({
      type: 'permission_resolved',
      requestId,
      allow: false,
      reason: 'withdrawn by the agent',
      by: 'cancelled',
    });
    asked.settle({ outcome: { outcome: 'cancelled' } });
  }

  /**
   * The turn was cancelled: the protocol has the client answer every open request `cancelled`. With
   * `report`, each is also resolved in the session's log as withdrawn.
   */
  withdrawAll(reason: string, report: boolean): void {
    for (const [requestId, asked] of this.asked) {
      if (report) {
        this.emit({
          type: 'permission_resolved',
          requestId,
          allow: false,
          reason,
          by: 'cancelled',
        });
      }
      asked.settle({ outcome: { outcome: 'cancelled' } });
    }
    this.asked.clear();
  }
}

/** Whether an answer to `request` let the tool run. */
export function allowed(
  request: RequestPermissionRequest,
  response: RequestPermissionResponse,
): boolean {
  const { outcome } = response;
  if (outcome.outcome !== 'selected') return false;
  const option = request.options.find((o) => o.optionId === outcome.optionId);
  return option?.kind === 'allow_once' || option?.kind === 'allow_always';
}

/** The agent's option that allows (once, else always) or rejects (once, else always); none: cancelled. */
function choose(options: PermissionOption[], allow: boolean): RequestPermissionResponse {
  const kinds = allow ? ['allow_once', 'allow_always'] : ['reject_once', 'reject_always'];
  for (const kind of kinds) {
    const option = options.find((o) => o.kind === kind);
    if (option) return { outcome: { outcome: 'selected', optionId: option.optionId } };
  }
  return { outcome: { outcome: 'cancelled' } };
}
