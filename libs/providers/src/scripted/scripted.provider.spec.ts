import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  AgentSession,
  ErrorCode,
  ProviderUnavailableError,
  SessionEventDraft,
  textInput,
} from '@jelmore/contracts';
import { DEFAULT_CLAUDE_OPTIONS } from '../claude/claude.options';
import { DEFAULT_OPENCODE_OPTIONS } from '../opencode/opencode.options';
import { DEFAULT_CIRCUIT_OPTIONS } from '../selection/circuit-breaker';
import type { ProvidersModuleOptions } from '../providers.options';
import { ScriptedProvider } from './scripted.provider';
import { parseScript, SCRIPTED_AGENT_SOURCE } from './scripted.script';

function provider(enabled = true, maxConcurrentSessions = 10): ScriptedProvider {
  const options: ProvidersModuleOptions = {
    defaultProvider: 'claude',
    loadBalancing: false,
    costOptimization: false,
    circuit: DEFAULT_CIRCUIT_OPTIONS,
    dataDir: tmpdir(),
    claude: DEFAULT_CLAUDE_OPTIONS,
    opencode: DEFAULT_OPENCODE_OPTIONS,
    scripted: { enabled, maxConcurrentSessions },
  };
  return new ScriptedProvider(options);
}

let nextId = 0;
function session(p: ScriptedProvider, model?: string): AgentSession {
  return p.createSession({ sessionId: `s-${++nextId}`, cwd: tmpdir(), model });
}

/** Reads a session's events until `stop` holds for the last one. */
async function readUntil(
  iterator: AsyncIterator<SessionEventDraft>,
  stop: (draft: SessionEventDraft) => boolean,
): Promise<SessionEventDraft[]> {
  const drafts: SessionEventDraft[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) return drafts;
    drafts.push(next.value);
    if (stop(next.value)) return drafts;
  }
}

const isResult = (d: SessionEventDraft) => d.type === 'result';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('parseScript', () => {
  it('reads every directive', () => {
    expect(
      parseScript('[[events 3]] [[bytes 5]] [[rate 0]] [[tool]] [[stamp]] [[memory]]'),
    ).toEqual({
      pieces: 3,
      bytes: 5,
      ratePerSecond: 0,
      tool: true,
      stamp: true,
      memory: true,
    });
  });

  it('echoes the text word by word without directives', () => {
    expect(parseScript('hello there')).toEqual({
      pieces: ['Echo: ', 'hello ', 'there'],
      bytes: 16,
      ratePerSecond: 50,
      tool: false,
      stamp: false,
      memory: false,
    });
  });
});

describe.each(['scripted', 'scripted-process'])('a %s session', (model) => {
  const p = provider();
  let agent: AgentSession;

  afterEach(async () => {
    await agent?.terminate();
  });

  it('plays the traffic each turn asks for, turn after turn', async () => {
    agent = session(p, model);
    expect(agent.model).toBe(model);
    const events = agent.events()[Symbol.asyncIterator]();
    await agent.start(textInput('[[events 300]] [[bytes 7]] [[rate 0]] [[tool]]'));
    const first = await readUntil(events, isResult);
    expect(first.map((d) => d.type)).toEqual([
      'tool_use',
      'tool_result',
      ...Array<string>(300).fill('assistant'),
      'usage',
      'result',
    ]);
    expect(first[0]).toMatchObject({ id: 'scripted-tool-1', name: 'Bash' });
    expect(first[2]).toEqual({ type: 'assistant', text: 'xxxxxxx' });
    expect(first.at(-1)).toMatchObject({ type: 'result', text: '' });
    expect(first.at(-1)).not.toHaveProperty('interrupted');

    await agent.send(textInput('hi you'));
    const second = await readUntil(events, isResult);
    expect(second.filter((d) => d.type === 'assistant').map((d) => d.text)).toEqual([
      'Echo: ',
      'hi ',
      'you',
    ]);
    expect(second.at(-1)).toMatchObject({ type: 'result', text: 'Echo: hi you' });
  });

  it('paces events at the rate asked for and stamps them with the monotonic clock', async () => {
    agent = session(p, model);
    const events = agent.events()[Symbol.asyncIterator]();
    const before = process.hrtime.bigint();
    await agent.start(textInput('[[events 5]] [[rate 50]] [[stamp]]'));
    const drafts = await readUntil(events, isResult);
    const texts = drafts.flatMap((d) => (d.type === 'assistant' ? [d.text] : []));
    const stamps = texts.map((t) => BigInt(t.split(' ')[0]));
    expect(stamps).toHaveLength(5);
    expect(stamps[0]).toBeGreaterThan(before);
    expect(stamps[4]).toBeLessThanOrEqual(process.hrtime.bigint());
    // Five events at 50/s: 20 ms apart.
    const spreadMs = Number(stamps[4] - stamps[0]) / 1e6;
    expect(spreadMs).toBeGreaterThanOrEqual(70);
    expect(spreadMs).toBeLessThan(1000);
  });

  it('stops a turn on interrupt with an interrupted result', async () => {
    agent = session(p, model);
    const events = agent.events()[Symbol.asyncIterator]();
    await agent.start(textInput('[[events 1000]] [[rate 100]]'));
    await readUntil(events, (d) => d.type === 'assistant');
    await agent.interrupt();
    const rest = await readUntil(events, isResult);
    expect(rest.at(-1)).toMatchObject({ type: 'result', interrupted: true });
    expect(rest.filter((d) => d.type === 'assistant').length).toBeLessThan(100);
  });

  it('ends its event stream on terminate and frees its slot', async () => {
    const limited = provider(true, 1);
    agent = session(limited, model);
    expect(() => session(limited, model)).toThrow(ProviderUnavailableError);
    const events = agent.events()[Symbol.asyncIterator]();
    await agent.start(textInput('[[events 100000]] [[rate 1000]]'));
    await readUntil(events, (d) => d.type === 'assistant');
    await agent.terminate();
    await readUntil(events, () => false); // Returns only when the stream completes.
    expect(limited.metrics()).toMatchObject({ activeSessions: 0, totalSessions: 1 });
    agent = session(limited, model);
  });
});

describe('a scripted-process session', () => {
  const p = provider();
  let agent: AgentSession;

  afterEach(async () => {
    await agent?.terminate();
  });

  it('runs its agent as a child process that ends with the session', async () => {
    agent = session(p, 'scripted-process');
    expect(agent.pid).toBeUndefined();
    const events = agent.events()[Symbol.asyncIterator]();
    await agent.start(textInput('[[events 1]]'));
    await readUntil(events, isResult);
    const pid = agent.pid!;
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain('jelmore-scripted-agent');
    await agent.terminate();
    expect(agent.pid).toBeUndefined();
    expect(alive(pid)).toBe(false);
  });

  it('reports an agent that dies on its own and ends the stream', async () => {
    agent = session(p, 'scripted-process');
    const events = agent.events()[Symbol.asyncIterator]();
    await agent.start(textInput('[[events 1]]'));
    await readUntil(events, isResult);
    process.kill(agent.pid!, 'SIGKILL');
    const rest = await readUntil(events, () => false);
    expect(rest).toEqual([
      {
        type: 'error',
        code: ErrorCode.AgentExited,
        message: 'The scripted agent exited with signal SIGKILL',
      },
    ]);
    expect(p.metrics().failedSessions).toBe(1);
  });

  it('starts a new process for the next input after suspend and resume', async () => {
    agent = session(p, 'scripted-process');
    await agent.start(textInput('[[events 1]]'));
    const state = await agent.suspend();
    expect(state).toMatchObject({ provider: 'scripted', model: 'scripted-process' });
    agent = p.createSession({ sessionId: agent.id, cwd: state.cwd, model: state.model });
    await agent.resume(state);
    expect(agent.pid).toBeUndefined();
    const events = agent.events()[Symbol.asyncIterator]();
    await agent.send(textInput('[[events 2]] [[rate 0]]'));
    const drafts = await readUntil(events, isResult);
    expect(drafts.filter((d) => d.type === 'assistant')).toHaveLength(2);
    expect(agent.pid).toBeDefined();
  });
});

describe('the scripted agent program', () => {
  it('exits when its stdin closes, so it never outlives the server', async () => {
    const child = spawn(process.execPath, ['-e', SCRIPTED_AGENT_SOURCE], { env: {} });
    let out = '';
    // The turn is over once its result is out: only then is stdin closed.
    const turnOver = new Promise<void>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('"type":"result"')) resolve();
      }),
    );
    child.stdin.write(`${JSON.stringify({ type: 'user', text: '[[events 2]]', turn: 1 })}\n`);
    await turnOver;
    child.stdin.end();
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as SessionEventDraft).type),
    ).toEqual(['assistant', 'assistant', 'usage', 'result']);
  });
});

describe('ScriptedProvider', () => {
  it('serves the in-process and the process model, in-process by default', () => {
    const p = provider();
    expect(p.models().map((m) => m.id)).toEqual(['scripted', 'scripted-process']);
    expect(p.resolveModel(undefined)?.id).toBe('scripted');
    expect(p.resolveModel('scripted-process')?.id).toBe('scripted-process');
    expect(p.resolveModel('opus')).toBeUndefined();
    expect(p.autoSelect).toBe(false);
  });

  it('refuses sessions while disabled', () => {
    expect(() => session(provider(false))).toThrow(ProviderUnavailableError);
  });
});
