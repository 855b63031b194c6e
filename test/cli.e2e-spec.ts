import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { JelmoreClient } from '@jelmore/client';
import { startTestServer, TestServer } from './support/app';
import { eventually, processesMentioning } from './support/processes';
import { freePort } from './support/server-process';

/** The `jelmore` bin of package.json, run as a user runs it; it loads the build (`npm run build`). */
const BIN = join(__dirname, '..', 'apps', 'cli', 'bin', 'jelmore.js');
const KEY = 'cli-key-0123456789abcdef';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** One CLI process, its output as it comes, and its exit. */
class Cli {
  stdout = '';
  stderr = '';
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, [BIN, ...args], {
      // Only what the test gives: no JELMORE_SERVER or JELMORE_API_KEY from the outer environment.
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 30_000) {
    // A CLI that exited will print nothing more.
    await eventually(() => pattern.test(this[stream]) || this.child.exitCode !== null, timeoutMs);
    if (pattern.test(this[stream])) return;
    throw new Error(
      `no ${pattern} on ${stream} (exit ${this.child.exitCode}):\n${this.stdout}\n--- stderr ---\n${this.stderr}`,
    );
  }

  sessionId(): string {
    const id = UUID.exec(this.stderr)?.[0];
    if (!id) throw new Error(`no session id in:\n${this.stderr}`);
    return id;
  }
}

async function jelmore(args: string[], env: Record<string, string> = {}) {
  const cli = new Cli(args, env);
  const code = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

describe('the jelmore CLI against the real server (Claude Code CLI, fake model API)', () => {
  let server: TestServer;
  let api: JelmoreClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer({
      env: { JELMORE_API_KEYS: `cli:${KEY}` },
      fake: { slowDelayMs: 150 },
    });
    api = new JelmoreClient({ url: server.url, apiKey: KEY });
    env = { JELMORE_SERVER: server.url, JELMORE_API_KEY: KEY };
  });

  afterAll(async () => {
    api?.close();
    await server?.close();
  });

  it('run streams the reply, tool calls, usage and cost, then terminates the session', async () => {
    const { code, stdout, stderr } = await jelmore(
      ['run', '[[bash echo cli-was-here > cli.txt]]'],
      env,
    );
    expect({ code, stderr }).toMatchObject({ code: 0 });
    const id = UUID.exec(stderr)![0];
    expect(stdout).toBe('Tool finished.\n');
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`session ${id} · claude · claude-sonnet-5-5`);
    expect(lines).toContain('› Bash echo cli-was-here > cli.txt');
    expect(lines.some((l) => l.startsWith('  ↳ '))).toBe(true);
    const done = lines.find((l) => l.startsWith('✓ done in'));
    expect(done).toMatch(/^✓ done in [\d.]+ m?s · \d+ in \/ \d+ out tokens · \$0\.\d+$/);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^session ${id} terminated · \\d+ in / \\d+ out tokens · \\$0\\.\\d+$`),
    );
    const session = await api.getSession(id);
    expect(session.state).toBe('terminated');
    expect(session.usage.costUsd).toBeGreaterThan(0);
    expect(readFileSync(join(session.cwd, 'cli.txt'), 'utf8').trim()).toBe('cli-was-here');
  });

  it('run --json prints every event as one JSON line, nothing else', async () => {
    const { code, stdout, stderr } = await jelmore(
      ['--server', server.url, '--key', KEY, 'run', '--json', 'hello', 'from', 'json'],
      {},
    );
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const events = stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as SessionEvent);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const text = events.map((e) => (e.type === 'assistant' ? e.text : '')).join('');
    expect(text).toBe('Echo: hello from json');
    expect(events.at(-1)).toMatchObject({ type: 'result', text: 'Echo: hello from json' });
    expect(await api.events(events[0].sessionId)).toEqual(expect.arrayContaining(events));
  });

  it('Ctrl-C interrupts the turn (exit 130); with --keep the session stays, idle', async () => {
    const cli = new Cli(['run', '--keep', '[[slow 30]]'], env);
    await cli.waitFor('stdout', /piece 2\./);
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(130);
    expect(cli.stderr).toContain('interrupting… (Ctrl-C again to terminate)');
    expect(cli.stderr).toMatch(/⏹ interrupted in [\d.]+ m?s/);
    expect(cli.stdout).not.toContain('piece 30.');
    const id = cli.sessionId();
    expect(cli.stderr).toContain(`session ${id} kept: jelmore attach ${id}`);
    expect(await api.getSession(id)).toMatchObject({ state: 'idle' });
    await api.terminate(id);
  });

  it('a second Ctrl-C terminates the session and its agent', async () => {
    const cli = new Cli(['run', '--keep', '[[slow 30]]'], env);
    await cli.waitFor('stdout', /piece 1\./);
    const id = cli.sessionId();
    // Signals sent back to back merge into one: the second goes as soon as the first is handled,
    // well before the interrupted turn could end.
    cli.child.stderr!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('interrupting…')) cli.child.kill('SIGINT');
    });
    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(130);
    expect(cli.stderr).toContain('terminating…');
    expect(cli.stderr.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^session ${id} terminated · \\d+ in / \\d+ out tokens`),
    );
    expect(await api.getSession(id)).toMatchObject({ state: 'terminated' });
    expect(await eventually(() => processesMentioning(id).length === 0)).toBe(true);
  });

  it('run stops when the session is suspended under it; suspend and resume work on their own', async () => {
    const cli = new Cli(['run', '[[slow 30]]'], env);
    await cli.waitFor('stdout', /piece 1\./);
    const id = cli.sessionId();
    const suspended = await jelmore(['suspend', id], env);
    expect(suspended).toMatchObject({ code: 0, stdout: `${id} suspended\n` });
    expect(await cli.exited).toBe(1);
    expect(cli.stderr).toContain(`session ${id} suspended: jelmore resume ${id}`);
    // Left as it was, for the user to resume.
    expect(await api.getSession(id)).toMatchObject({ state: 'suspended' });
    const resumed = await jelmore(['resume', id, '--json'], env);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ id, state: 'idle' });
    await api.terminate(id);
  });

  it('attach replays and follows a session; send, ls and kill act on it', async () => {
    const session = await api.createSession({ query: 'attach me' });
    const attach = new Cli(['attach', session.id], env);
    await attach.waitFor('stdout', /Echo: attach me/);

    const listed = await jelmore(['ls'], env);
    expect(listed.code).toBe(0);
    const row = listed.stdout.split('\n').find((l) => l.startsWith(session.id));
    expect(row).toMatch(
      new RegExp(`^${session.id} +idle +claude +claude-sonnet-5-5 +\\$0\\.\\d+ +\\d+ s ago$`),
    );
    expect(listed.stdout.split('\n')[0]).toMatch(/^ID +STATE +PROVIDER +MODEL +COST +UPDATED$/);
    const asJson = JSON.parse((await jelmore(['ls', '--json'], env)).stdout) as SessionResource[];
    expect(asJson.find((s) => s.id === session.id)).toMatchObject({ state: 'idle' });

    expect((await jelmore(['send', session.id, 'and', 'again'], env)).code).toBe(0);
    await attach.waitFor('stdout', /Echo: and again/);

    const killed = await jelmore(['kill', session.id], env);
    expect(killed).toMatchObject({ code: 0 });
    expect(killed.stdout).toMatch(new RegExp(`^${session.id} terminated · \\$0\\.\\d+\\n$`));
    // The session ended, so attach ends by itself.
    expect(await attach.exited).toBe(0);
    expect(attach.stdout).toBe('Echo: attach me\nEcho: and again\n');
    expect(attach.stderr).toContain('session terminated (terminated by client)');
    expect(attach.stderr.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^session ${session.id} terminated · \\d+ in / \\d+ out tokens`),
    );
  });

  it('providers and health show the providers, their health and load', async () => {
    const providers = await jelmore(['providers'], env);
    expect(providers.code).toBe(0);
    expect(providers.stdout.split('\n')[0]).toMatch(/^PROVIDER +HEALTH +CIRCUIT +LOAD +MODELS$/);
    expect(providers.stdout).toMatch(
      /claude \(default\) +up +closed +\d+\/10 +opus, sonnet, haiku/,
    );

    const health = await jelmore(['health'], env);
    expect(health.code).toBe(0);
    expect(health.stdout).toContain(`server ready at ${server.url}`);
    expect(health.stdout).toMatch(/claude +up +closed/);
    const json = JSON.parse((await jelmore(['health', '--json'], env)).stdout);
    expect(json).toMatchObject({
      ready: true,
      status: 'ok',
      providers: { claude: { healthy: true } },
    });
  });

  it('fails with the error code and a hint: no key, an unknown session, no server', async () => {
    const noKey = await jelmore(['ls'], { JELMORE_SERVER: server.url });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toBe(
      'jelmore: UNAUTHORIZED: A valid API key is required: Authorization: Bearer <key>\n' +
        'Give an API key with --key or JELMORE_API_KEY.\n',
    );
    const unknown = await jelmore(['attach', '00000000-0000-4000-8000-000000000000'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^jelmore: SESSION_NOT_FOUND: /);
    const port = await freePort();
    const down = await jelmore(['health'], { JELMORE_SERVER: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^jelmore: CLIENT_NETWORK: Cannot reach http:\/\/127\.0\.0\.1:\d+: /,
    );
    const usage = await jelmore(['run'], env);
    expect(usage.code).toBe(1);
    expect(usage.stderr).toContain("error: missing required argument 'query'");
  });
});
