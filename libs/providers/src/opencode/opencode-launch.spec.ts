import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentSandbox } from '../process/agent-sandbox';
import { launchOpencodeServer, OpencodeLaunchOptions } from './opencode-launch';
import { defaultOpencodeBin } from './opencode-server';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/State:\s+Z/.test(status(pid));
const status = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
};

describe('launchOpencodeServer', () => {
  let dir: string;
  let options: OpencodeLaunchOptions;

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-opencode-launch-')));
    options = {
      bin: defaultOpencodeBin()!,
      version: '1.18.33',
      home: join(dir, 'home'),
      cwd: dir,
      config: {},
      sandbox: new AgentSandbox({ mode: 'bwrap', network: 'host' }),
      pidFile: join(dir, 'servers', 's1.pid'),
    };
  });

  let started: Awaited<ReturnType<typeof launchOpencodeServer>> | undefined;

  afterEach(async () => {
    // A test that failed half way must not leave its server running (jest would wait for it).
    await started?.process.stop();
    started = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  // A real `opencode serve` in bubblewrap: seconds to start when other specs load the machine.
  it('starts a sandboxed server that answers its own password only, and ends with its process', async () => {
    const exits: string[] = [];
    const server = await launchOpencodeServer(options, (reason) => exits.push(reason));
    started = server;
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(readFileSync(`/proc/${server.process.pid}/cmdline`, 'utf8')).toMatch(/^bwrap\0/);
    expect(Number(readFileSync(options.pidFile, 'utf8'))).toBe(server.process.pid);
    expect((await fetch(`${server.url}/session/status`)).status).toBe(401);
    const answer = await fetch(`${server.url}/session/status`, {
      headers: { authorization: server.authorization, connection: 'close' },
    });
    expect(answer.status).toBe(200);

    await server.process.stop();
    expect(exits).toEqual([expect.stringContaining('opencode server exited')]);
    expect(existsSync(options.pidFile)).toBe(false);
  }, 30_000);

  it('ends the server a crashed Jelmore left behind (its pid file) before it starts', async () => {
    // A stand-in for an `opencode serve` left running: its command line names opencode.
    const leftover = spawn('sh', ['-c', 'sleep 60; true', 'opencode'], {
      detached: true,
      stdio: 'ignore',
    });
    mkdirSync(join(dir, 'servers'));
    writeFileSync(options.pidFile, String(leftover.pid));
    // The start itself fails (no such binary): the leftover is gone all the same.
    await expect(
      launchOpencodeServer({ ...options, bin: join(dir, 'no-opencode') }, () => undefined),
    ).rejects.toThrow(/exited at start/);
    expect(await waitFor(() => !alive(leftover.pid!))).toBe(true);
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !check()) await new Promise((r) => setTimeout(r, 50));
  return check();
}
