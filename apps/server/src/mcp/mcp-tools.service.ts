import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ShuttingDownError } from '@jelmore/contracts';
import { ProviderRegistry, ProviderSelector } from '@jelmore/providers';
import { SessionsService } from '@jelmore/sessions';
import { CreateSessionDto, InputDto } from '../api/session.dto';
import { validateDto } from '../common/validation';
import { McpTool, ToolContext, defineTool } from './mcp-tool';
import {
  eventsSchema,
  getEventsArgs,
  noArgs,
  providersSchema,
  sendInputArgs,
  sessionArgs,
  sessionOutcomeSchema,
  sessionsSchema,
  startSessionArgs,
  turnOutcomeSchema,
  turnResult,
  waitForResultArgs,
} from './mcp.schemas';
import { awaitResult, LoggedResult, WaitProgress } from './turn-waiter';

const READ_ONLY = { readOnlyHint: true, openWorldHint: false } as const;

/**
 * The tools of Jelmore's MCP server. Each acts as the calling key, through the same SessionsService
 * calls and DTO checks as REST (sessions.controller.ts): ownership, budgets and limits apply alike.
 */
@Injectable()
export class McpTools implements OnModuleDestroy {
  readonly all: readonly McpTool[];
  /** Aborted as the server begins to shut down: waits end, so their responses (and connections) do. */
  private readonly shutdown = new AbortController();

  constructor(
    private readonly sessions: SessionsService,
    private readonly registry: ProviderRegistry,
    private readonly selector: ProviderSelector,
  ) {
    this.all = [
      this.listProviders(),
      this.startSession(),
      this.sendInput(),
      this.getSession(),
      this.getEvents(),
      this.waitForResult(),
      this.interruptSession(),
      this.terminateSession(),
      this.listSessions(),
    ];
  }

  onModuleDestroy(): void {
    this.shutdown.abort(new ShuttingDownError());
  }

  private listProviders(): McpTool {
    return defineTool({
      name: 'list_providers',
      description:
        'The agent providers: their models (ids, aliases, prices), capabilities, load and last health check',
      input: noArgs,
      output: providersSchema,
      annotations: READ_ONLY,
      run: async () => ({
        defaultProvider: this.registry.defaultProvider,
        providers: this.registry.list().map((name) => {
          const provider = this.registry.get(name);
          const health = this.selector.lastHealth(name);
          return {
            name,
            ...(health ? { healthy: health.healthy, reason: health.reason } : {}),
            circuit: this.selector.circuitState(name),
            load: {
              active: provider.metrics().activeSessions,
              max: provider.capabilities.maxConcurrentSessions,
            },
            capabilities: { ...provider.capabilities },
            models: provider.models(),
          };
        }),
      }),
    });
  }

  private startSession(): McpTool {
    return defineTool({
      name: 'start_session',
      description:
        'Start an agent session with a query. With wait: true, return when its first turn ends, with ' +
        "the turn's final text, usage and cost; else at once (follow it with wait_for_result).",
      input: startSessionArgs,
      output: turnOutcomeSchema,
      run: async ({ wait, timeoutSeconds, ...fields }, context) => {
        const dto = validateDto(CreateSessionDto, fields);
        const { principal } = context;
        const session = await this.sessions.create({
          ...dto.toInput(),
          owner: principal.id,
          actor: principal,
        });
        if (!wait) return { session };
        return this.outcome(session.id, 0, false, timeoutSeconds, context);
      },
    });
  }

  private sendInput(): McpTool {
    return defineTool({
      name: 'send_input',
      description:
        'Send the next instruction to a session: a new turn when it is idle, else queued (see mode). ' +
        'With wait: true, return when the turn this input starts ends, with its result.',
      input: sendInputArgs,
      output: turnOutcomeSchema,
      run: async ({ sessionId, input, mode, wait, timeoutSeconds }, context) => {
        const dto = validateDto(InputDto, { text: input, mode });
        const { principal } = context;
        const { lastSeq } = await this.sessions.get(sessionId, principal);
        await this.sessions.input(sessionId, dto.text, principal, dto.mode);
        if (!wait) return { session: await this.sessions.get(sessionId, principal) };
        return this.outcome(sessionId, lastSeq, true, timeoutSeconds, context);
      },
    });
  }

  private getSession(): McpTool {
    return defineTool({
      name: 'get_session',
      description: 'A session: its state (running, idle, ...), usage and cost so far, and last seq',
      input: sessionArgs,
      output: sessionOutcomeSchema,
      annotations: READ_ONLY,
      run: async ({ sessionId }, { principal }) => ({
        session: await this.sessions.get(sessionId, principal),
      }),
    });
  }

  private getEvents(): McpTool {
    return defineTool({
      name: 'get_events',
      description:
        "A session's events in order (user, assistant text pieces, tool_use, tool_result, usage, " +
        'result, status, error, ...), those after the seq `after`',
      input: getEventsArgs,
      output: eventsSchema,
      annotations: READ_ONLY,
      run: async ({ sessionId, after, limit }, { principal }) => {
        const events = await this.sessions.events(sessionId, after, limit, principal);
        // Copies: an interface has no index signature, the loose event schema's type does.
        return { events: events.map((event) => ({ ...event })), more: events.length === limit };
      },
    });
  }

  private waitForResult(): McpTool {
    return defineTool({
      name: 'wait_for_result',
      description:
        "Wait for a session's next turn result (after `after`), at most timeoutSeconds; then " +
        'WAIT_TIMEOUT, and the session goes on',
      input: waitForResultArgs,
      output: turnOutcomeSchema,
      annotations: READ_ONLY,
      run: async ({ sessionId, timeoutSeconds, after }, context) => {
        const { lastSeq } = await this.sessions.get(sessionId, context.principal);
        return this.outcome(sessionId, after ?? lastSeq, false, timeoutSeconds, context);
      },
    });
  }

  private interruptSession(): McpTool {
    return defineTool({
      name: 'interrupt_session',
      description:
        'Stop the running turn (its result says interrupted) and drop queued input; the session stays',
      input: sessionArgs,
      output: sessionOutcomeSchema,
      run: async ({ sessionId }, { principal }) => {
        await this.sessions.interrupt(sessionId, principal);
        return { session: await this.sessions.get(sessionId, principal) };
      },
    });
  }

  private terminateSession(): McpTool {
    return defineTool({
      name: 'terminate_session',
      description: 'End a session for good: its agent stops; its events stay readable',
      input: sessionArgs,
      output: sessionOutcomeSchema,
      annotations: { destructiveHint: true, idempotentHint: true, openWorldHint: false },
      run: async ({ sessionId }, { principal }) => ({
        session: await this.sessions.terminate(sessionId, undefined, principal),
      }),
    });
  }

  private listSessions(): McpTool {
    return defineTool({
      name: 'list_sessions',
      description: "The calling key's sessions (an admin key's: all), with state and cost",
      input: noArgs,
      output: sessionsSchema,
      annotations: READ_ONLY,
      run: async (_args, { principal }) => ({ sessions: await this.sessions.list(principal) }),
    });
  }

  /** Waits for the turn's result (see awaitResult), reporting progress, then reads the session again. */
  private async outcome(
    sessionId: string,
    after: number,
    ownTurn: boolean,
    timeoutSeconds: number,
    { principal, signal, progress }: ToolContext,
  ) {
    const reporter = progress && new WaitProgress(progress);
    let result: LoggedResult;
    try {
      result = await awaitResult(await this.sessions.stream(sessionId, after, principal), {
        sessionId,
        after,
        ownTurn,
        timeoutMs: timeoutSeconds * 1000,
        signal: AbortSignal.any([signal, this.shutdown.signal]),
        onEvents: reporter && ((batch) => reporter.seen(batch)),
      });
    } finally {
      reporter?.stop();
    }
    return { session: await this.sessions.get(sessionId, principal), result: turnResult(result) };
  }
}
