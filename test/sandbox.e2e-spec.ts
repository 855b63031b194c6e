import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { FakeAnthropicServer } from './fixtures/fake-anthropic';
import { FakeGeminiServer } from './fixtures/fake-gemini';
import { FakeOpenAIServer } from './fixtures/fake-openai';
import { FakeOpenAIResponsesServer } from './fixtures/fake-openai-responses';
import { waitUntil } from './support/processes';
import { freePort, ServerProcess } from './support/server-process';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const OPS = 'ops-key-0123456789abcdef';
const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** What bob's agent tried, each written by the agent into its own workspace as LEAKED or denied. */
const ATTEMPTS = ['environ', 'datadir', 'workspace', 'db', 'transcripts'] as const;

/**
 * OpenCode's own way in: alice's session server (its HTTP API lists her sessions and runs tools) on a
 * loopback port, which bob's agent shares. It asks every listening port for alice's session.
 */
function serverScan(alice: SessionResource): string {
  const ports = `awk 'NR>1 && $4=="0A" {split($2, a, ":"); print a[2]}' /proc/net/tcp`;
  const ask = 'curl -s -m 1 http://127.0.0.1:$((0x$p))/session';
  return `for p in $(${ports}); do ${ask}; done | grep -q "jelmore ${alice.id}"`;
}

/**
 * The server as a real process whose environment holds every API key (as a deployment's would), with
 * the real agent CLIs against fake model APIs. Key B's agent then attacks through its shell tool.
 */
class Deployment {
  readonly dir = mkdtempSync(join(tmpdir(), 'jelmore-sandbox-'));
  readonly data = join(this.dir, 'data');
  readonly root = join(this.dir, 'workspace');
  private readonly anthropic = new FakeAnthropicServer();
  private readonly gemini = new FakeGeminiServer();
  private readonly codex = new FakeOpenAIResponsesServer();
  private readonly opencode = new FakeOpenAIServer();
  server!: ServerProcess;

  async start(env: Record<string, string> = {}): Promise<void> {
    const [anthropic, gemini, codex, opencode] = await Promise.all([
      this.anthropic.start(),
      this.gemini.start(),
      this.codex.start(),
      this.opencode.start(),
    ]);
    this.server = new ServerProcess(await freePort(), {
      JELMORE_API_KEYS: `alice:${ALICE},bob:${BOB},ops:${OPS}:admin`,
      JELMORE_DATA_DIR: this.data,
      JELMORE_WORKSPACE_ROOT: this.root,
      JELMORE_LOG_LEVEL: 'warn',
      ANTHROPIC_BASE_URL: anthropic,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
      JELMORE_GEMINI_BASE_URL: gemini,
      JELMORE_GEMINI_API_KEY: 'test-key-not-secret',
      JELMORE_CODEX_BASE_URL: codex,
      JELMORE_CODEX_API_KEY: 'test-key-not-secret',
      JELMORE_OPENCODE_BASE_URL: opencode,
      JELMORE_OPENCODE_API_KEY: 'test-key-not-secret',
      ...env,
    });
    await this.server.start();
  }

  async stop(): Promise<void> {
    await this.server?.kill('SIGTERM');
    await Promise.all([
      this.anthropic.stop(),
      this.gemini.stop(),
      this.codex.stop(),
      this.opencode.stop(),
    ]);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Runs one turn of `command` through the provider's shell tool as `key`; the session once idle. */
  async runShell(key: string, provider: string, command: string): Promise<SessionResource> {
    const created = await request(this.server.url)
      .post('/v1/sessions')
      .set(bearer(key))
      .send({ provider, query: `[[bash ${command}]]` })
      .expect(201);
    const id = (created.body as SessionResource).id;
    let session: SessionResource | undefined;
    await waitUntil(async () => {
      const res = await request(this.server.url).get(`/v1/sessions/${id}`).set(bearer(key));
      session = res.body as SessionResource;
      return session.state === 'idle' || session.state === 'failed';
    }, 60_000);
    // A turn that did not end idle fails here, with what the agent said.
    if (session?.state !== 'idle') {
      const events = await request(this.server.url)
        .get(`/v1/sessions/${id}/events`)
        .set(bearer(key));
      throw new Error(`session ${session?.state}: ${JSON.stringify(events.body).slice(0, 3000)}`);
    }
    return session;
  }

  /** Bob's attack on alice's session, the data dir and the server, as one shell command. */
  attack(alice: SessionResource, provider: string, escape: string): string {
    const aliceHome = join(this.data, 'agents', provider, 'tenants', 'alice');
    const db = join(this.data, 'jelmore.db');
    const verdict = (test: string, name: string) =>
      `(${test} && echo LEAKED || echo denied) > ${name}.txt`;
    const command = [
      verdict(`grep -l JELMORE_API_KEYS /proc/*/environ 2>/dev/null | grep -q .`, 'environ'),
      verdict(`ls -A ${this.data} 2>/dev/null | grep -q jelmore.db`, 'datadir'),
      verdict(`ls -A ${alice.cwd} 2>/dev/null | grep -q .`, 'workspace'),
      verdict(`head -c 15 ${db} 2>/dev/null | grep -q SQLite`, 'db'),
      verdict(`find ${aliceHome} -type f 2>/dev/null | grep -q .`, 'transcripts'),
      ...(provider === 'opencode' ? [verdict(serverScan(alice), 'server')] : []),
      // Judged on the host: none of these may appear there.
      `touch ${this.escapes(alice, escape).join(' ')} 2>/dev/null`,
      'echo own-work > own.txt',
    ].join('; ');
    // OpenCode refuses a command that names paths outside the workspace (external_directory: deny)
    // before it runs; an attacker hides them, and so does this test: the sandbox must stop it.
    if (provider !== 'opencode') return command;
    return `echo ${Buffer.from(command).toString('base64')} | base64 -d | sh`;
  }

  /** Where bob's agent tries to write outside its workspace. */
  escapes(alice: SessionResource, escape: string): string[] {
    return [this.root, this.data, alice.cwd, tmpdir()].map((dir) => join(dir, escape));
  }

  verdicts(bob: SessionResource, provider: string): Record<string, string> {
    const attempts = provider === 'opencode' ? [...ATTEMPTS, 'server'] : ATTEMPTS;
    return Object.fromEntries(
      attempts.map((name) => [name, readFileSync(join(bob.cwd, `${name}.txt`), 'utf8').trim()]),
    );
  }
}

// One deployment for the four agents (a boot costs about what a case does): each attack runs in a
// fresh pair of sessions and looks for its own provider's traces, the others' left there to steal too.
describe('agent sandbox: key B`s agent gets nothing of key A`s or the server`s', () => {
  const deployment = new Deployment();

  beforeAll(() => deployment.start(), 60_000);
  afterAll(() => deployment.stop());

  it.each(['claude', 'gemini', 'codex', 'opencode'])(
    '%s: every attempt through its shell fails, and its own work in its workspace succeeds',
    async (provider) => {
      const alice = await deployment.runShell(ALICE, provider, 'echo alice-secret > alice.txt');
      expect(readFileSync(join(alice.cwd, 'alice.txt'), 'utf8').trim()).toBe('alice-secret');
      // Alice's agent left state in her own home: there is something to steal.
      const aliceHome = join(deployment.data, 'agents', provider, 'tenants', 'alice');
      expect(readdirSync(aliceHome).length).toBeGreaterThan(0);

      const escape = `escape-${randomUUID()}`;
      const bob = await deployment.runShell(
        BOB,
        provider,
        deployment.attack(alice, provider, escape),
      );

      expect(deployment.verdicts(bob, provider)).toEqual({
        environ: 'denied',
        datadir: 'denied',
        workspace: 'denied',
        db: 'denied',
        transcripts: 'denied',
        ...(provider === 'opencode' ? { server: 'denied' } : {}),
      });
      const written = deployment.escapes(alice, escape).filter((path) => existsSync(path));
      expect(written).toEqual([]);
      expect(readFileSync(join(bob.cwd, 'own.txt'), 'utf8').trim()).toBe('own-work');
      // Bob's agent home is his own, beside alice's.
      expect(existsSync(join(deployment.data, 'agents', provider, 'tenants', 'bob'))).toBe(true);
    },
  );
});

describe('agent sandbox off (JELMORE_AGENT_SANDBOX=off)', () => {
  const deployment = new Deployment();

  beforeAll(() => deployment.start({ JELMORE_AGENT_SANDBOX: 'off' }), 60_000);
  afterAll(() => deployment.stop());

  it('says so in readiness, and the same attack then reads the keys and the database', async () => {
    const ready = await request(deployment.server.url).get('/health/ready').expect(200);
    expect(ready.body.details.sandbox).toMatchObject({ status: 'up', mode: 'off' });
    expect(deployment.server.output).toContain('JELMORE_AGENT_SANDBOX=off');

    const alice = await deployment.runShell(ALICE, 'claude', 'echo alice-secret > alice.txt');
    const escape = `escape-${randomUUID()}`;
    const bob = await deployment.runShell(
      BOB,
      'claude',
      deployment.attack(alice, 'claude', escape),
    );
    // What the sandbox prevents, shown by its absence: the attack itself works.
    expect(deployment.verdicts(bob, 'claude')).toMatchObject({
      environ: 'LEAKED',
      datadir: 'LEAKED',
      workspace: 'LEAKED',
      db: 'LEAKED',
    });
    // Unconfined, its writes land outside its workspace too.
    const written = deployment.escapes(alice, escape).filter((path) => existsSync(path));
    expect(written.length).toBeGreaterThan(0);
    for (const path of written) rmSync(path, { force: true });
  });
});
