import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionConfig, SuspendedState } from '@jelmore/contracts';
import { contentText, FakeOpenAIServer } from '../../../../test/fixtures/fake-openai';
import { CollectingAgent, openAgent, runTurn } from '../conversation.spec-helpers';
import type { ProvidersModuleOptions } from '../providers.options';
import { DEFAULT_OPENCODE_OPTIONS } from './opencode.options';
import { OpencodeProvider } from './opencode.provider';

/**
 * Fork through the real `opencode serve` (from node_modules, sandboxed) against the fake OpenAI-compatible
 * API: what the model is sent afterwards is the proof of what the conversation holds. Rewind runs the
 * same fork in the session's own directory (opencode-fork.spec.ts); each server here costs seconds.
 */
describe('OpencodeProvider fork (real opencode, fake model API)', () => {
  const models = new FakeOpenAIServer();
  let dir: string;
  let provider: OpencodeProvider;
  const agents: CollectingAgent[] = [];

  beforeAll(async () => {
    Logger.overrideLogger(false);
    const baseUrl = await models.start();
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-opencode-fork-')));
    provider = new OpencodeProvider({
      dataDir: join(dir, 'data'),
      sandbox: { mode: 'bwrap', network: 'host' },
      opencode: { ...DEFAULT_OPENCODE_OPTIONS, baseUrl, apiKey: 'test-key-not-secret' },
    } as ProvidersModuleOptions);
    await provider.onModuleInit();
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.session.terminate()));
    await provider.onApplicationShutdown();
    await models.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function config(name: string): SessionConfig {
    const cwd = join(dir, name);
    mkdirSync(cwd, { recursive: true });
    return { sessionId: randomUUID(), cwd, tenant: 'alice' };
  }

  async function open(session: SessionConfig, state?: SuspendedState): Promise<CollectingAgent> {
    const agent = await openAgent(provider, session, state);
    agents.push(agent);
    return agent;
  }

  /** Runs a turn; the user and assistant texts the model was sent in the turn's last request. */
  async function turn(agent: CollectingAgent, text: string): Promise<string> {
    const requests = models.agentRequests().length;
    await runTurn(agent, text);
    const sent = models.agentRequests().slice(requests).at(-1)!;
    return sent.messages
      .filter((m) => m.role !== 'system')
      .map((m) => `${m.role}: ${contentText(m.content)}`)
      .join('\n');
  }

  it('forks a live conversation into another directory at a turn', async () => {
    const parentConfig = config('parent');
    const parent = await open(parentConfig);
    await turn(parent, 'turn one');
    expect(await turn(parent, 'turn two')).toContain('turn one');
    const parentState: SuspendedState = {
      provider: 'opencode',
      model: parent.session.model,
      cwd: parentConfig.cwd,
      providerRef: parent.session.providerRef,
    };

    // The parent's server still runs; the fork is made on one of the target's.
    const target = config('fork');
    const forked = await provider.forkConversation(parentState, 1, target);
    expect(forked).toMatchObject({ provider: 'opencode', cwd: target.cwd });
    expect(forked.providerRef).toMatch(/^ses_/);
    expect(forked.providerRef).not.toBe(parentState.providerRef);
    const fork = await open(target, forked);
    const sentByFork = await turn(fork, 'turn three');
    expect(sentByFork).toContain('user: turn one');
    expect(sentByFork).toContain('assistant: Echo: turn one');
    expect(sentByFork).not.toContain('turn two');
    // Moved to its own directory: its tools run there, not in the parent's.
    await turn(fork, '[[bash pwd]]');
    expect(JSON.stringify(fork.events.filter((e) => e.type === 'tool_result').at(-1))).toContain(
      target.cwd,
    );
  }, 120_000);
});
