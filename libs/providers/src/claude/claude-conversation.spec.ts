import { Logger } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type SessionConfig, type SuspendedState } from '@jelmore/contracts';
import { FakeAnthropicServer, textOf } from '../../../../test/fixtures/fake-anthropic';
import { CollectingAgent, openAgent, runTurn } from '../conversation.spec-helpers';
import type { ProvidersModuleOptions } from '../providers.options';
import { DEFAULT_CIRCUIT_OPTIONS } from '../selection/circuit-breaker';
import { DEFAULT_OPENCODE_OPTIONS } from '../opencode/opencode.options';
import { DEFAULT_CLAUDE_OPTIONS } from './claude.options';
import { ClaudeCodeProvider } from './claude.provider';
import { claudeTranscriptPath } from './claude-transcript';

/**
 * Fork and rewind through the real Claude Code CLI (from node_modules) against the fake Anthropic API:
 * what the model is sent afterwards is the proof of what the conversation holds.
 */
describe('ClaudeCodeProvider: fork, rewind and worktree mounts (real CLI, fake model API)', () => {
  const fake = new FakeAnthropicServer();
  const saved = { url: process.env.ANTHROPIC_BASE_URL, key: process.env.ANTHROPIC_API_KEY };
  let dir: string;
  let provider: ClaudeCodeProvider;
  const agents: CollectingAgent[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    process.env.ANTHROPIC_BASE_URL = await fake.start();
    process.env.ANTHROPIC_API_KEY = 'test-key-not-secret';
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-claude-fork-')));
    provider = new ClaudeCodeProvider({
      dataDir: join(dir, 'data'),
      sandbox: { mode: 'bwrap', network: 'host' },
      claude: DEFAULT_CLAUDE_OPTIONS,
      opencode: DEFAULT_OPENCODE_OPTIONS,
      circuit: DEFAULT_CIRCUIT_OPTIONS,
      scripted: { enabled: false, maxConcurrentSessions: 1 },
    } as ProvidersModuleOptions);
    await provider.onModuleInit();
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.session.terminate()));
    await provider.onModuleDestroy();
    await fake.stop();
    restore('ANTHROPIC_BASE_URL', saved.url);
    restore('ANTHROPIC_API_KEY', saved.key);
    rmSync(dir, { recursive: true, force: true });
  });

  function restore(name: string, value: string | undefined): void {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }

  function config(name: string, tenant = 'alice'): SessionConfig {
    const cwd = join(dir, name);
    mkdirSync(cwd, { recursive: true });
    return { sessionId: randomUUID(), cwd, model: 'sonnet', tenant };
  }

  async function open(session: SessionConfig, state?: SuspendedState): Promise<CollectingAgent> {
    const agent = await openAgent(provider, session, state);
    agents.push(agent);
    return agent;
  }

  /** Runs a turn; the conversation the model was sent in its last request (system messages aside). */
  async function turn(agent: CollectingAgent, text: string): Promise<string> {
    const requests = fake.agentRequests().length;
    await runTurn(agent, text);
    const sent = fake.agentRequests().slice(requests).at(-1)!;
    return sent.messages
      .filter((m) => m.role !== 'system')
      .map((m) => (typeof m.content === 'string' ? m.content : textOf(m.content as never)))
      .join('\n');
  }

  it('forks a live conversation at a turn into another directory, and rewinds one', async () => {
    const parentConfig = config('parent');
    const parent = await open(parentConfig);
    await turn(parent, 'turn one');
    expect(await turn(parent, 'turn two')).toContain('turn one');
    const parentState: SuspendedState = {
      provider: 'claude',
      model: parent.session.model,
      cwd: parentConfig.cwd,
      providerRef: parent.session.providerRef,
    };

    // At its last turn, taken right after that turn's result: the whole conversation.
    const whole = config('fork-whole');
    const wholeState = await provider.forkConversation(parentState, 2, whole);

    // The parent stays alive; its later turns are left out of the fork.
    const target = config('fork');
    const forked = await provider.forkConversation(parentState, 1, target);
    expect(forked).toEqual({
      provider: 'claude',
      model: parent.session.model,
      cwd: target.cwd,
      providerRef: target.sessionId,
    });
    const home = join(dir, 'data', 'agents', 'claude', 'tenants', 'alice');
    expect(existsSync(claudeTranscriptPath(home, target.cwd, target.sessionId))).toBe(true);
    const fork = await open(target, forked);
    const sentByFork = await turn(fork, 'turn three');
    expect(sentByFork).toContain('turn one');
    expect(sentByFork).toContain('Echo: turn one');
    expect(sentByFork).not.toContain('turn two');
    expect(fork.session.providerRef).toBe(target.sessionId);

    const sentByWhole = await turn(await open(whole, wholeState), 'turn 2b');
    expect(sentByWhole).toContain('Echo: turn two');

    await expect(provider.forkConversation(parentState, 3, config('past'))).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });

    // Rewind: the parent is suspended first, cut back to turn 1, and resumed in a new agent.
    const suspended = await parent.session.suspend();
    await expect(provider.rewindConversation(suspended, 3, parentConfig)).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });
    const rewound = await provider.rewindConversation(suspended, 1, parentConfig);
    expect(rewound).toEqual(suspended);
    const again = await open(parentConfig, rewound);
    const sentAfterRewind = await turn(again, 'turn four');
    expect(sentAfterRewind).toContain('turn one');
    expect(sentAfterRewind).not.toContain('turn two');

    // Back to the start: no conversation at all, the next input begins one under the session's id.
    const atStart = await provider.rewindConversation(
      await again.session.suspend(),
      0,
      parentConfig,
    );
    expect(atStart.providerRef).toBeUndefined();
    const fresh = await open(parentConfig, atStart);
    const sentFresh = await turn(fresh, 'turn five');
    expect(sentFresh).toContain('turn five');
    expect(sentFresh).not.toContain('turn one');
    expect(fresh.session.providerRef).toBe(parentConfig.sessionId);
  }, 120_000);

  it('shows a worktree session its repository`s git folder read-only, its own in it writable', async () => {
    const repo = join(dir, 'repo');
    const cwd = join(dir, 'wt');
    mkdirSync(repo);
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    git('init', '-q');
    git('commit', '-q', '--allow-empty', '-m', 'base');
    git('worktree', 'add', '-q', '-b', 'jelmore/w1', cwd);
    const mounts = {
      readOnly: [join(repo, '.git')],
      writable: [join(repo, '.git', 'worktrees', 'wt')],
    };
    const agent = await open({ ...config('wt'), mounts });
    // A per-worktree ref lands in the worktree's own git folder; a commit's objects would not.
    await runTurn(
      agent,
      '[[bash git rev-parse --abbrev-ref HEAD && git update-ref refs/bisect/j HEAD && echo wrote; git -c user.name=a -c user.email=a@a commit -q --allow-empty -m x 2>&1 | head -1]]',
    );
    const result = agent.events.find((e) => e.type === 'tool_result');
    expect(result).toMatchObject({ isError: false });
    const output = (result as { output: string }).output;
    expect(output).toContain('jelmore/w1');
    expect(output).toContain('wrote');
    expect(output).toMatch(/Read-only file system/);
    expect(existsSync(join(repo, '.git', 'worktrees', 'wt', 'refs', 'bisect', 'j'))).toBe(true);
  }, 60_000);
});
