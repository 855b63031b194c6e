import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderUnavailableError } from '@jelmore/contracts';
import { AgentSandbox, installRoot, sessionView } from './agent-sandbox';

/** Runs `script` with sh in `cwd` through the sandbox (real bubblewrap); its stdout, or the error's. */
function run(sandbox: AgentSandbox, cwd: string, script: string, view = {}): string {
  const { bin, args } = sandbox.wrap('/bin/sh', ['-c', script], cwd, { writable: [], ...view });
  try {
    return execFileSync(bin, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return `failed: ${(err as { stderr?: string }).stderr ?? String(err)}`;
  }
}

describe('AgentSandbox (real bubblewrap)', () => {
  let dir: string;
  let workspace: string;
  let other: string;
  const sandbox = new AgentSandbox({ mode: 'bwrap', network: 'host' });

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'jelmore-sandbox-spec-')));
    workspace = join(dir, 'workspace');
    other = join(dir, 'other-tenant');
    mkdirSync(workspace);
    mkdirSync(other);
    writeFileSync(join(other, 'secret.txt'), 'theirs');
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('works on this machine (CI installs bubblewrap)', () => {
    expect(sandbox.status).toEqual({ mode: 'bwrap', usable: true, network: 'host' });
    expect(sandbox.active).toBe(true);
    expect(sandbox.refusal()).toBeUndefined();
  });

  it('lets the agent write its workspace, and shows nothing else of the tree around it', () => {
    const out = run(
      sandbox,
      workspace,
      `echo mine > own.txt && cat own.txt; cat ${other}/secret.txt 2>&1; touch ${dir}/escape 2>&1; ls ${dir}`,
    );
    expect(out).toContain('mine');
    expect(out).not.toContain('theirs');
    expect(out).toMatch(/No such file or directory/);
    // Only the path to the workspace exists in there; the host's folder got nothing.
    expect(out.trim().split('\n').pop()).toBe('workspace');
    expect(execFileSync('ls', [dir], { encoding: 'utf8' }).split('\n')).not.toContain('escape');
  });

  it('runs the agent in a PID namespace, as no root, with no capabilities', () => {
    const server = spawn('sleep', ['30'], { env: { JELMORE_SECRET_MARKER: 'in-the-server' } });
    try {
      const out = run(
        sandbox,
        workspace,
        'grep -l JELMORE_SECRET_MARKER /proc/*/environ 2>/dev/null; echo pids=$(ls /proc | grep -c "^[0-9]"); id -u; grep CapEff /proc/self/status',
      );
      expect(out).not.toContain('environ');
      // bwrap's init, sh and its commands: the host's processes are not there.
      expect(Number(/pids=(\d+)/.exec(out)?.[1])).toBeLessThan(8);
      expect(out).toMatch(/^CapEff:\s+0+$/m);
      expect(out).not.toMatch(/^0$/m);
    } finally {
      server.kill();
    }
  });

  it('shows extra folders read-only, a read-only cwd as such, and hides the server`s files', () => {
    const tools = join(dir, 'tools');
    mkdirSync(tools);
    writeFileSync(join(tools, 'keys.txt'), 'alice:secret');
    const hiding = new AgentSandbox({
      mode: 'bwrap',
      network: 'host',
      hidden: [join(tools, 'keys.txt')],
    });
    const out = run(
      hiding,
      workspace,
      `ls ${tools}; cat ${tools}/keys.txt; echo; touch ${tools}/new 2>&1; touch here 2>&1; true`,
      { readOnly: [tools], readOnlyCwd: true },
    );
    expect(out).toContain('keys.txt');
    expect(out).not.toContain('alice:secret');
    expect(out).toMatch(/tools\/new.*Read-only file system/);
    expect(out).toMatch(/here.*Read-only file system/);
  });

  it('shows a session`s mounts: its repository`s git folder read-only, its worktree`s writable', () => {
    const git = join(dir, 'repo', '.git');
    const own = join(git, 'worktrees', 's1');
    mkdirSync(own, { recursive: true });
    const view = sessionView({ writable: ['/home/t'] }, { readOnly: [git], writable: [own] });
    expect(view).toEqual({ writable: ['/home/t', own], readOnly: [git] });
    const { args } = sandbox.wrap('/bin/true', [], workspace, { ...view, writable: [own] });
    // The writable folder is bound after the read-only one that holds it, so it stays writable.
    const at = (flag: string, path: string) =>
      args.findIndex((arg, i) => arg === flag && args[i + 1] === path);
    expect(at('--ro-bind', git)).toBeGreaterThan(-1);
    expect(at('--bind', own)).toBeGreaterThan(at('--ro-bind', git));

    const out = run(
      sandbox,
      workspace,
      `touch ${own}/HEAD && echo wrote; touch ${git}/config 2>&1; ls ${dir}/repo -a`,
      { ...view, writable: [own] },
    );
    expect(out).toContain('wrote');
    expect(out).toMatch(/config.*Read-only file system/);
    // The repository's working files are not shown, only its git folder.
    expect(out.trim().split('\n').slice(-3)).toEqual(['.', '..', '.git']);
    // Under a read-only cwd, the worktree's own git folder is read-only too.
    expect(
      sessionView({ writable: [], readOnlyCwd: true }, { readOnly: [git], writable: [own] }),
    ).toEqual({ writable: [], readOnly: [git, own], readOnlyCwd: true });
    expect(sessionView({ writable: ['/w'] }, undefined)).toEqual({ writable: ['/w'] });
  });

  it('with network none, the agent has loopback only', () => {
    const offline = new AgentSandbox({ mode: 'bwrap', network: 'none' });
    const interfaces = run(offline, workspace, 'tail -n +3 /proc/net/dev | cut -d: -f1');
    expect(
      interfaces
        .trim()
        .split('\n')
        .map((s) => s.trim()),
    ).toEqual(['lo']);
    const shared = run(sandbox, workspace, 'tail -n +3 /proc/net/dev | cut -d: -f1');
    expect(shared.trim().split('\n').length).toBeGreaterThan(1);
  });

  it('refuses agents with a reason when bubblewrap is missing, and changes nothing when off', () => {
    const missing = new AgentSandbox({
      mode: 'bwrap',
      network: 'host',
      bwrapBin: '/nowhere/bwrap',
    });
    expect(missing.status).toMatchObject({
      usable: false,
      reason: expect.stringContaining('not found'),
    });
    expect(missing.refusal()).toContain('JELMORE_AGENT_SANDBOX=off');
    expect(() => missing.assertUsable('claude')).toThrow(ProviderUnavailableError);

    const off = new AgentSandbox({ mode: 'off', network: 'host' });
    expect(off.active).toBe(false);
    expect(off.refusal()).toBeUndefined();
    expect(off.wrap('/bin/agent', ['-p'], workspace, { writable: [] })).toEqual({
      bin: '/bin/agent',
      args: ['-p'],
    });
  });

  it('shows an npm CLI its whole node_modules, any other binary its own folder', () => {
    expect(installRoot('/app/node_modules/@scope/cli/bin/cli.js')).toBe('/app/node_modules');
    expect(installRoot('/opt/agent/bin/agent')).toBe('/opt/agent/bin');
  });
});
