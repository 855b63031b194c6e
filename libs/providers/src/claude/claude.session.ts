import {
  AgentInput,
  ErrorCode,
  isTextMediaType,
  PermissionDecision,
  SessionConfig,
  StartOptions,
  SuspendedState,
} from '@jelmore/contracts';
import { AgentProcess, AgentProcessOptions } from '../process/agent-process';
import { ClaudePermissionGate, claudePermissionLaunch } from './claude-permissions';
import { ClaudeStreamNormalizer } from './claude-stream.normalizer';
import { resolveClaudeModel } from './claude.models';
import { DirectoryTracker } from './directory-tracker';
import type { ClaudeOptions } from './claude.options';
import { LocalAgentSession } from '../local-agent-session';
import { expandedHeaders, mcpHeaderVariables } from '../mcp-header-variables';

export interface ClaudeLaunch {
  bin: string;
  env: NodeJS.ProcessEnv;
  options: ClaudeOptions;
  /** Called when the CLI process exits; `expected` after terminate() or suspend(). */
  onExit: (expected: boolean) => void;
  sandbox?: AgentProcessOptions['sandbox'];
}

/**
 * One Claude Code conversation, run as a long-lived CLI process in stream-json input mode: each turn is a
 * user line on stdin. When the process is gone (suspend, crash) the conversation continues with --resume.
 */
export class ClaudeCodeSession extends LocalAgentSession<SessionConfig & { model: string }> {
  private process?: AgentProcess;
  private normalizer: ClaudeStreamNormalizer;
  private readonly directory: DirectoryTracker;
  private ending = false;
  private conversationRef?: string;
  /** Set while prestart() waits for the CLI's answer to its initialize request. */
  private onReady?: () => void;
  /** Sessions whose tool calls the CLI asks us about (permissions `ask` or `deny-writes`). */
  private readonly permissionGate?: ClaudePermissionGate;

  constructor(
    config: SessionConfig & { model: string },
    private readonly launch: ClaudeLaunch,
  ) {
    super(config, 'claude');
    this.directory = new DirectoryTracker(config.cwd);
    this.normalizer = this.newNormalizer();
    const policy = config.permissions;
    if (policy === 'ask' || policy === 'deny-writes') {
      this.permissionGate = new ClaudePermissionGate(policy, (message) =>
        this.process?.writeLine(message),
      );
    }
  }

  private newNormalizer(): ClaudeStreamNormalizer {
    return new ClaudeStreamNormalizer(resolveClaudeModel(this.config.model));
  }

  get model(): string {
    return this.config.model;
  }

  get providerRef(): string | undefined {
    return this.conversationRef;
  }

  get pid(): number | undefined {
    return this.process?.alive ? this.process.pid : undefined;
  }

  async start(input: AgentInput, options: StartOptions = {}): Promise<void> {
    // A prestarted process already runs this conversation: the query is all it waits for.
    if (options.continue || !this.process?.alive) {
      this.spawn(options.continue ? this.conversationRef : undefined);
    }
    this.writeUser(input);
  }

  /**
   * Starts the CLI ahead of the first input (warm start), with this session's id and cwd. Resolves once
   * it answers an initialize request (the CLI prints nothing before its first stdin line, so this is the
   * readiness check); rejects when it exits first.
   */
  async prestart(): Promise<void> {
    this.spawn(undefined);
    const ready = new Promise<boolean>((resolve) => (this.onReady = () => resolve(true)));
    this.process!.writeLine({
      type: 'control_request',
      request_id: `warm-${Date.now()}`,
      request: { subtype: 'initialize' },
    });
    const exited = this.process!.exited$().then(() => false);
    const isReady = await Promise.race([ready, exited]);
    this.onReady = undefined;
    if (!isReady) throw new Error('Claude Code exited before it was ready');
  }

  async send(input: AgentInput): Promise<void> {
    if (!this.process?.alive) this.spawn(this.conversationRef);
    this.writeUser(input);
  }

  async interrupt(): Promise<void> {
    if (!this.process?.alive) return;
    this.normalizer.expectInterrupt();
    this.process.writeLine({
      type: 'control_request',
      request_id: `interrupt-${Date.now()}`,
      request: { subtype: 'interrupt' },
    });
  }

  answerPermission(requestId: string, decision: PermissionDecision): boolean {
    return this.permissionGate?.answer(requestId, decision) ?? false;
  }

  protected async end(): Promise<void> {
    this.ending = true;
    await this.process?.stop();
    this.queue.end();
  }

  /** A resume continues where the agent last moved to. */
  protected override resumeCwd(): string {
    return this.directory.cwd;
  }

  /** Adopts a suspended conversation; the CLI process starts with --resume on the next input. */
  async resume(state: SuspendedState): Promise<void> {
    this.conversationRef = state.providerRef;
  }

  private spawn(resumeRef: string | undefined): void {
    const { bin, env, options, sandbox } = this.launch;
    const mcp = claudeMcpLaunch(this.config.mcpServers);
    const args = [
      '-p',
      '--input-format',
      'stream-json',
      '--output-format',
      'stream-json',
      '--verbose',
      '--include-partial-messages',
      '--model',
      this.model,
      // `ask` and `deny-writes` add --permission-prompt-tool stdio: a process started without it
      // cannot serve those sessions.
      ...allowingMcp(
        claudePermissionLaunch(this.config.permissions, options).args,
        this.config.mcpServers,
      ),
      // Delegation: Jelmore's own MCP server, and only it (the CLI's other MCP configs stay out).
      ...mcp.args,
      // Our session id doubles as the CLI's, so the transcript is found again after a restart.
      ...(resumeRef ? ['--resume', resumeRef] : ['--session-id', this.id]),
    ];
    this.conversationRef = resumeRef ?? this.id;
    this.normalizer = this.newNormalizer();
    // What an earlier process asked died with it.
    this.permissionGate?.clear();
    this.process = new AgentProcess({
      bin,
      args,
      cwd: this.directory.cwd,
      env: { ...env, ...mcp.env },
      sandbox,
      onLine: (line) => this.onLine(line),
      onExit: (code, signal, stderrTail) => this.onExit(code, signal, stderrTail),
    });
  }

  private writeUser(input: AgentInput): void {
    this.normalizer.startTurn();
    this.process!.writeLine({
      type: 'user',
      message: { role: 'user', content: input.map(claudeContentBlock) },
    });
  }

  private onLine(line: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      return; // The CLI prints nothing but JSON on stdout; a stray line is not an event.
    }
    if (this.onReady && (parsed as { type?: string }).type === 'control_response') {
      return this.onReady();
    }
    const asked = this.permissionGate?.onLine(parsed as object);
    if (asked) {
      for (const draft of asked) this.queue.push(draft);
      return;
    }
    for (const draft of this.normalizer.push(parsed as object)) {
      this.queue.push(draft);
      if (draft.type === 'tool_use') this.directory.onToolUse(draft.id, draft.name, draft.input);
      if (draft.type === 'tool_result') {
        const change = this.directory.onToolResult(draft.toolUseId, draft.isError);
        if (change) this.queue.push({ type: 'directory_changed', ...change });
      }
    }
    if (this.normalizer.providerRef) this.conversationRef = this.normalizer.providerRef;
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, stderrTail: string): void {
    this.permissionGate?.clear();
    this.launch.onExit(this.ending);
    if (this.ending) return;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const detail = lastLine(stderrTail);
    this.queue.push({
      type: 'error',
      code: ErrorCode.AgentExited,
      message: `Claude Code exited with ${how}${detail ? `: ${detail}` : ''}`,
    });
    this.queue.end();
  }
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop()?.slice(0, 300) ?? '';
}

/**
 * Anthropic's Messages content blocks, which the CLI passes to the model API as they are (it re-encodes
 * only images over its size limits): images and PDFs base64, text documents as text sources.
 */
function claudeContentBlock(block: AgentInput[number]): Record<string, unknown> {
  if (block.type === 'text') return { type: 'text', text: block.text };
  if (block.type === 'image') {
    return {
      type: 'image',
      source: { type: 'base64', media_type: block.mediaType, data: block.bytes.toString('base64') },
    };
  }
  const source = isTextMediaType(block.mediaType)
    ? { type: 'text', media_type: 'text/plain', data: block.bytes.toString('utf8') }
    : { type: 'base64', media_type: block.mediaType, data: block.bytes.toString('base64') };
  return { type: 'document', source, ...(block.name ? { title: block.name } : {}) };
}

/**
 * `--mcp-config` for the session's MCP servers (Streamable HTTP); none without any. The headers (the
 * delegation token) go in the environment, which the CLI expands in the config: a command line is
 * readable by every process of the machine, an environment only by its user's.
 */
export function claudeMcpLaunch(servers: SessionConfig['mcpServers']): {
  args: string[];
  env: Record<string, string>;
} {
  if (!servers?.length) return { args: [], env: {} };
  const { headers, env } = mcpHeaderVariables(servers);
  const mcpServers = Object.fromEntries(
    servers.map((server, i) => [
      server.name,
      { type: 'http', url: server.url, headers: expandedHeaders(headers[i]) },
    ]),
  );
  return { args: ['--mcp-config', JSON.stringify({ mcpServers }), '--strict-mcp-config'], env };
}

/**
 * Where tools run without asking (`--allowedTools`), the session's MCP servers' tools do too: Jelmore
 * gave them, and checks every call itself. Under `ask` the client is asked, as for any tool.
 */
function allowingMcp(args: string[], servers: SessionConfig['mcpServers']): string[] {
  const at = args.indexOf('--allowedTools');
  if (at < 0 || !servers?.length) return args;
  const allowed = [args[at + 1], ...servers.map((server) => `mcp__${server.name}`)].join(',');
  return [...args.slice(0, at + 1), allowed, ...args.slice(at + 2)];
}
