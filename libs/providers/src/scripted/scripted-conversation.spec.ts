import { tmpdir } from 'node:os';
import {
  AgentSession,
  ErrorCode,
  SessionEventDraft,
  SuspendedState,
  textInput,
} from '@jelmore/contracts';
import type { ProvidersModuleOptions } from '../providers.options';
import { ScriptedProvider } from './scripted.provider';

const provider = () =>
  new ScriptedProvider({
    scripted: { enabled: true, maxConcurrentSessions: 10 },
  } as ProvidersModuleOptions);

/** Sends a prompt (the first starts the agent) and returns the text of the turn's result. */
async function turn(agent: AgentSession, text: string, first = false): Promise<string> {
  const events = agent.events()[Symbol.asyncIterator]();
  await (first ? agent.start(textInput(text)) : agent.send(textInput(text)));
  for (;;) {
    const next = await events.next();
    if (next.done) throw new Error('the session ended');
    const draft: SessionEventDraft = next.value;
    if (draft.type === 'result') return draft.text;
  }
}

let nextId = 0;
const config = (model: string) => ({ sessionId: `c-${++nextId}`, cwd: tmpdir(), model });

describe.each(['scripted', 'scripted-process'])('a %s conversation', (model) => {
  const p = provider();
  const agents: AgentSession[] = [];
  const open = async (state?: SuspendedState, sessionId?: string) => {
    const agent = p.createSession({ ...config(model), ...(sessionId ? { sessionId } : {}) });
    agents.push(agent);
    if (state) await agent.resume(state);
    return agent;
  };

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.terminate()));
  });

  it('remembers its prompts across suspend and resume ([[memory]] lists them)', async () => {
    const agent = await open();
    expect(await turn(agent, 'turn one', true)).toBe('Echo: turn one');
    expect(await turn(agent, 'turn two [[memory]]')).toBe('Remembered 1: turn one');
    const state = await agent.suspend();
    expect(state.data).toEqual({ prompts: ['turn one', 'turn two [[memory]]'] });
    const resumed = await open(state, agent.id);
    expect(await turn(resumed, '[[memory]]')).toBe('Remembered 2: turn one | turn two [[memory]]');
  });

  it('forks a running conversation at a turn, and rewinds a suspended one', async () => {
    const parent = await open();
    await turn(parent, 'turn one', true);
    await turn(parent, 'turn two');
    // Running: its state holds no prompts; the provider reads the live conversation.
    const live = { provider: 'scripted', model, cwd: tmpdir(), providerRef: parent.providerRef };
    const target = config(model);
    const forked = await p.forkConversation(live, 1, target);
    expect(forked).toEqual({
      provider: 'scripted',
      model,
      cwd: target.cwd,
      providerRef: `scripted-${target.sessionId}`,
      data: { prompts: ['turn one'] },
    });
    const fork = await open(forked, target.sessionId);
    expect(await turn(fork, '[[memory]]')).toBe('Remembered 1: turn one');
    await expect(p.forkConversation(live, 3, config(model))).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });

    const suspended = await parent.suspend();
    // A suspended parent forks from its state.
    expect((await p.forkConversation(suspended, 2, config(model))).data).toEqual({
      prompts: ['turn one', 'turn two'],
    });
    const rewound = await p.rewindConversation(suspended, 1);
    expect(rewound).toEqual({ ...suspended, data: { prompts: ['turn one'] } });
    const again = await open(rewound, parent.id);
    expect(await turn(again, '[[memory]]')).toBe('Remembered 1: turn one');
    expect((await p.rewindConversation(suspended, 0)).data).toEqual({ prompts: [] });
    await expect(p.rewindConversation(suspended, 3)).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });
  });
});
