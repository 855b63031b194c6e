import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { textInput, type AgentSession } from '@jelmore/contracts';
import { eventually, processesMentioning } from '../../../../test/support/processes';
import { DEFAULT_CIRCUIT_OPTIONS } from '../selection/circuit-breaker';
import { DEFAULT_OPENCODE_OPTIONS } from '../opencode/opencode.options';
import type { ProvidersModuleOptions } from '../providers.options';
import { DEFAULT_CLAUDE_OPTIONS } from './claude.options';
import { ClaudeCodeProvider } from './claude.provider';
import { ClaudeCodeSession } from './claude.session';
import { WarmPool, type WarmAgent } from './warm-pool';

/**
 * A stand-in for the Claude Code CLI, run as a real process: it answers `--version` and an initialize
 * control request, and answers each user line with its pid, session id, cwd and flags. Each start is
 * logged; a `crash` file next to it makes it exit at once.
 */
function fakeCli(dir: string): string {
  const bin = join(dir, 'fake-claude');
  writeFileSync(
    bin,
    `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
if (args.includes('--version')) { console.log('2.1.0 (fake)'); process.exit(0); }
fs.appendFileSync(path.join(${JSON.stringify(dir)}, 'starts.log'), process.pid + '\\n');
if (fs.existsSync(path.join(${JSON.stringify(dir)}, 'crash'))) process.exit(3);
const flag = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const sessionId = flag('--session-id') || flag('--resume');
const out = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', (raw) => {
  const line = JSON.parse(raw);
  if (line.type === 'control_request' && line.request.subtype === 'initialize') {
    out({ type: 'control_response', response: { subtype: 'success', request_id: line.request_id, response: {} } });
  } else if (line.type === 'user') {
    const text = 'pid=' + process.pid + ' session=' + sessionId + ' cwd=' + process.cwd() + ' args=' + args.join(' ');
    out({ type: 'system', subtype: 'init', session_id: sessionId, cwd: process.cwd() });
    out({ type: 'assistant', message: { id: 'm' + Date.now(), role: 'assistant', content: [{ type: 'text', text }] } });
    out({ type: 'result', subtype: 'success', is_error: false, result: text, duration_ms: 1, total_cost_usd: 0, usage: { input_tokens: 1, output_tokens: 1 } });
  }
}).on('close', () => process.exit(0));
`,
  );
  chmodSync(bin, 0o755);
  return bin;
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The first turn's reply of the fake: who answered it. */
async function firstReply(session: AgentSession, query = 'hello'): Promise<string> {
  await session.start(textInput(query));
  for await (const draft of session.events()) {
    if (draft.type === 'result') return draft.text;
  }
  throw new Error('the session ended without a result');
}

describe('Claude warm pool (a fake CLI as a real process)', () => {
  let dir: string;
  let bin: string;
  let root: string;
  const providers: ClaudeCodeProvider[] = [];

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-warm-')));
    bin = fakeCli(dir);
    root = join(dir, 'workspace');
  });

  afterEach(async () => {
    await Promise.all(providers.splice(0).map((p) => p.onModuleDestroy()));
    rmSync(dir, { recursive: true, force: true });
  });

  async function provider(warmPoolSize: number): Promise<ClaudeCodeProvider> {
    const options: ProvidersModuleOptions = {
      defaultProvider: 'claude',
      loadBalancing: false,
      costOptimization: false,
      circuit: DEFAULT_CIRCUIT_OPTIONS,
      dataDir: join(dir, 'data'),
      // The pool's own logic: the fake reports its pid and logs its starts outside any sandbox.
      sandbox: { mode: 'off', network: 'host' },
      workspaceRoot: root,
      claude: { ...DEFAULT_CLAUDE_OPTIONS, bin, warmPoolSize },
      opencode: DEFAULT_OPENCODE_OPTIONS,
      scripted: { enabled: false, maxConcurrentSessions: 1 },
    };
    const p = new ClaudeCodeProvider(options);
    providers.push(p);
    await p.onModuleInit();
    return p;
  }

  const ready = (p: ClaudeCodeProvider) => p.metrics().warmPool?.ready ?? 0;
  const sonnet = 'claude-sonnet-5-5';

  it('hands a pre-started process, its id and directory to a matching session, then refills', async () => {
    const p = await provider(1);
    expect(await eventually(() => ready(p) === 1, 10_000)).toBe(true);

    const id = p.claimWarmSession({ model: sonnet });
    expect(id).toEqual(expect.any(String));
    // The pre-started process runs with that id, in <root>/<id>, before the session exists.
    const [warmPid] = processesMentioning(`--session-id ${id}`);
    expect(warmPid).toBeGreaterThan(0);
    expect(existsSync(join(root, id!))).toBe(true);

    const session = p.createSession({ sessionId: id!, cwd: join(root, id!) });
    expect(session.pid).toBe(warmPid);
    const reply = await firstReply(session);
    expect(reply).toContain(`pid=${warmPid} session=${id} cwd=${join(root, id!)}`);
    expect(reply).toContain(`--model ${sonnet}`);
    expect(session.providerRef).toBe(id);
    expect(p.metrics()).toMatchObject({
      activeSessions: 1,
      warmPool: { size: 1, hits: 1, misses: { empty: 0, model: 0, cwd: 0, settings: 0 } },
    });

    // Refilled in the background, under a new id.
    expect(await eventually(() => ready(p) === 1, 10_000)).toBe(true);
    const next = p.claimWarmSession({ model: sonnet });
    expect(next).not.toBe(id);

    // The adopted process is the session's now: ending the session frees its slot.
    await session.terminate();
    expect(alive(warmPid)).toBe(false);
    expect(p.metrics().activeSessions).toBe(0);
  });

  it('misses on another model, a cwd of its own or other settings, leaving the pool as it was', async () => {
    const p = await provider(1);
    expect(await eventually(() => ready(p) === 1, 10_000)).toBe(true);
    const [warmPid] = processesMentioning(bin).filter((pid) => alive(pid));

    expect(p.claimWarmSession({ model: 'claude-opus-5-5' })).toBeUndefined();
    expect(p.claimWarmSession({ model: sonnet, cwd: 'project' })).toBeUndefined();
    expect(p.claimWarmSession({ model: sonnet, permissions: 'ask' })).toBeUndefined();
    expect(p.metrics().warmPool).toMatchObject({
      ready: 1,
      hits: 0,
      misses: { empty: 0, model: 1, cwd: 1, settings: 1 },
    });
    expect(alive(warmPid)).toBe(true);

    // A miss starts cold with its own process.
    const cold = p.createSession({ sessionId: 'cold-1', cwd: dir, model: 'opus' });
    expect(cold.pid).toBeUndefined();
    const reply = await firstReply(cold);
    expect(reply).toContain('session=cold-1');
    expect(reply).not.toContain(`pid=${warmPid} `);
    await cold.terminate();
  });

  it('starts cold under the claimed id when the session then asks for other settings', async () => {
    const p = await provider(1);
    expect(await eventually(() => ready(p) === 1, 10_000)).toBe(true);
    const id = p.claimWarmSession({ model: sonnet })!;
    const [warmPid] = processesMentioning(`--session-id ${id}`);

    const session = p.createSession({ sessionId: id, cwd: dir });
    expect(p.metrics().warmPool).toMatchObject({ hits: 0, misses: { settings: 1 } });
    expect(await eventually(() => !alive(warmPid))).toBe(true);
    const reply = await firstReply(session);
    expect(reply).toContain(`session=${id} cwd=${dir}`);
    expect(reply).not.toContain(`pid=${warmPid} `);
    await session.terminate();
  });

  it('misses when every warm process is taken, and a resumed session is no miss', async () => {
    const p = await provider(1);
    expect(await eventually(() => ready(p) === 1, 10_000)).toBe(true);
    const id = p.claimWarmSession({ model: sonnet })!;
    expect(p.claimWarmSession({ model: sonnet })).toBeUndefined();
    const session = p.createSession({ sessionId: id, cwd: join(root, id) });
    const resumed = p.createSession({ sessionId: 'old', cwd: dir });
    expect(p.metrics().warmPool).toMatchObject({ hits: 1, misses: { empty: 1, settings: 0 } });
    await Promise.all([session.terminate(), resumed.terminate()]);
  });

  it('replaces a waiting process that dies, and removes its unused directory', async () => {
    const p = await provider(1);
    expect(await eventually(() => ready(p) === 1, 10_000)).toBe(true);
    const [pid] = processesMentioning(bin).filter((x) => alive(x));
    const idOf = (x: number) =>
      /--session-id ([0-9a-f-]{36})/.exec(
        readFileSync(`/proc/${x}/cmdline`, 'utf8').replace(/\0/g, ' '),
      )![1];
    const deadId = idOf(pid);
    process.kill(pid, 'SIGKILL');

    expect(
      await eventually(() => p.metrics().warmPool?.replaced === 1 && ready(p) === 1, 10_000),
    ).toBe(true);
    const [replacement] = processesMentioning(bin).filter((x) => alive(x));
    expect(replacement).not.toBe(pid);
    expect(idOf(replacement)).not.toBe(deadId);
    expect(existsSync(join(root, deadId))).toBe(false);
    expect(p.claimWarmSession({ model: sonnet })).toBe(idOf(replacement));
  });

  it('ends a claimed process that no session took', async () => {
    const pool = new WarmPool<ClaudeCodeSession>({
      size: 1,
      root: dir,
      model: sonnet,
      claimTtlMs: 100,
      create: (config, onExit) =>
        new ClaudeCodeSession(config, {
          bin,
          env: { PATH: process.env.PATH },
          options: DEFAULT_CLAUDE_OPTIONS,
          onExit,
        }),
    });
    try {
      await pool.fill();
      const id = pool.claim({ model: sonnet })!;
      const [pid] = processesMentioning(`--session-id ${id}`);
      expect(await eventually(() => !alive(pid), 3000)).toBe(true);
      // Its id may belong to another provider's session now: it is no longer on offer.
      expect(pool.take({ sessionId: id, cwd: join(dir, id), model: sonnet }, () => {})).toBe(
        undefined,
      );
    } finally {
      await pool.close();
    }
  });

  it('retries a CLI that fails to start after a growing pause, not in a loop', async () => {
    // The pauses run on a fake clock: each start is counted at the very ms it is due, none before.
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    let crash = true;
    let starts = 0;
    const pool = new WarmPool<WarmAgent>({
      size: 1,
      root: dir,
      model: sonnet,
      retryMs: { min: 300, max: 600 },
      create: () => ({
        prestart: async () => {
          starts++;
          if (crash) throw new Error('exited before it was ready');
        },
        terminate: async () => {},
      }),
    });
    try {
      void pool.fill();
      await jest.advanceTimersByTimeAsync(0);
      expect(starts).toBe(1);
      // Pauses of 300, then 600 and 600 (the cap): a loop would have started dozens by now.
      for (const pause of [300, 600, 600]) {
        const before = starts;
        await jest.advanceTimersByTimeAsync(pause - 1);
        expect({ pause, starts }).toEqual({ pause, starts: before });
        await jest.advanceTimersByTimeAsync(1);
        expect({ pause, starts }).toEqual({ pause, starts: before + 1 });
      }
      expect(starts).toBe(4);
      expect(pool.metrics().ready).toBe(0);
      crash = false;
      await jest.advanceTimersByTimeAsync(600);
      expect(starts).toBe(5);
      expect(pool.metrics().ready).toBe(1);
    } finally {
      await pool.close();
      jest.useRealTimers();
    }
  });

  it('starts nothing after close, though a refill and a retry were due', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] });
    let starts = 0;
    const pool = (crash: boolean) =>
      new WarmPool<WarmAgent>({
        size: 1,
        root: dir,
        model: sonnet,
        retryMs: { min: 300, max: 600 },
        refillDelayMs: 100,
        create: () => ({
          prestart: async () => {
            starts++;
            if (crash) throw new Error('exited before it was ready');
          },
          terminate: async () => {},
        }),
      });
    const refilling = pool(false);
    const retrying = pool(true);
    try {
      void refilling.fill();
      void retrying.fill();
      await jest.advanceTimersByTimeAsync(0);
      expect(starts).toBe(2);
      expect(refilling.claim({ model: sonnet })).toEqual(expect.any(String));
      await Promise.all([refilling.close(), retrying.close()]);
      await jest.advanceTimersByTimeAsync(10_000);
      expect(starts).toBe(2);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ends every waiting and claimed process at shutdown and starts no more', async () => {
    const p = await provider(2);
    expect(await eventually(() => ready(p) === 2, 15_000)).toBe(true);
    const id = p.claimWarmSession({ model: sonnet })!;
    const pids = processesMentioning(bin).filter((x) => alive(x));
    expect(pids.length).toBeGreaterThanOrEqual(2);

    await p.onModuleDestroy();
    expect(pids.filter((x) => alive(x))).toEqual([]);
    expect(processesMentioning(bin)).toEqual([]);
    expect(p.claimWarmSession({ model: sonnet })).toBeUndefined();
    // The claimed id may be a session's by now: its directory stays; the others' go.
    expect(existsSync(join(root, id))).toBe(true);
    // That no refill or retry starts one later is shown on a fake clock in 'starts nothing after close'.
  });

  it('keeps no pool when the size is 0', async () => {
    const p = await provider(0);
    expect(p.metrics().warmPool).toBeUndefined();
    expect(p.claimWarmSession({ model: sonnet })).toBeUndefined();
    expect(processesMentioning(bin)).toEqual([]);
  });
});
