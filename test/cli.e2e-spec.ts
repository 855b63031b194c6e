import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { JelmoreClient } from '@jelmore/client';
import { startTestServer, TestServer } from './support/app';
import { Cli, jelmore, UUID } from './support/cli';
import { pdfDocument, pngImage, sha256 } from './support/media';
import { eventually, processesMentioning, waitUntil } from './support/processes';
import { freePort } from './support/server-process';

const KEY = 'cli-key-0123456789abcdef';

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
      new RegExp(
        `^${session.id} +idle +claude +claude-sonnet-5-5 +\\$0\\.\\d+ +\\d+ s ago +attach me$`,
      ),
    );
    expect(listed.stdout.split('\n')[0]).toMatch(
      /^ID +STATE +PROVIDER +MODEL +COST +UPDATED +TITLE$/,
    );
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

  it('run --image --file uploads the files and the model gets their exact bytes; so does send', async () => {
    const dir = join(server.dir, 'cli-files');
    mkdirSync(dir, { recursive: true });
    const png = pngImage(41);
    const pdf = pdfDocument('cli document');
    const second = pngImage(42);
    writeFileSync(join(dir, 'a.png'), png);
    writeFileSync(join(dir, 'spec.pdf'), pdf);
    writeFileSync(join(dir, 'b.png'), second);

    const run = await jelmore(
      [
        'run',
        '--keep',
        '--image',
        join(dir, 'a.png'),
        '--file',
        join(dir, 'spec.pdf'),
        'what',
        'is',
        'this?',
      ],
      env,
    );
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    // The fake echoes the prompt's text, which Claude Code follows with a note of where it kept the image.
    expect(run.stdout).toMatch(/^Echo: what is this\?/);
    const id = UUID.exec(run.stderr)![0];
    const user = (await api.events(id)).find((e) => e.type === 'user');
    expect(user?.content).toEqual([
      { type: 'text', text: 'what is this?' },
      expect.objectContaining({ type: 'image', mediaType: 'image/png', sha256: sha256(png) }),
      expect.objectContaining({
        type: 'document',
        mediaType: 'application/pdf',
        sha256: sha256(pdf),
        name: 'spec.pdf',
      }),
    ]);
    const imageId = (user!.content[1] as { attachmentId: string }).attachmentId;
    expect(run.stderr.split('\n')).toContainEqual(
      expect.stringMatching(
        new RegExp(
          `^> what is this\\? \\[image ${imageId.slice(0, 8)} ${png.length} B\\] \\[document spec\\.pdf \\d+ (B|KB)\\]$`,
        ),
      ),
    );
    expect(server.fake.base64Sent().map((sent) => sent.sha256)).toEqual(
      expect.arrayContaining([sha256(png), sha256(pdf)]),
    );
    expect((await api.attachment(imageId)).equals(png)).toBe(true);
    expect((await api.getSession(id)).title).toBe('what is this?');

    const sent = await jelmore(['send', id, 'and', 'this', '--image', join(dir, 'b.png')], env);
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    expect(
      await waitUntil(
        async () => (await api.events(id)).filter((e) => e.type === 'result').length === 2,
      ),
    ).toBe(true);
    expect(server.fake.base64Sent().map((sent) => sent.sha256)).toContain(sha256(second));
    await api.terminate(id);
  });

  it('a missing or mistyped file fails the command before anything is sent', async () => {
    const before = (await api.listSessions()).length;
    const modelCalls = server.fake.requests.length;
    const missing = await jelmore(['run', '--image', '/nonexistent/shot.png', 'look'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      "error: option '--image <path>' argument '/nonexistent/shot.png' is invalid. no such file: /nonexistent/shot.png",
    );
    const dir = join(server.dir, 'cli-files');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'not-an-image.pdf'), pdfDocument('no image'));
    const mistyped = await jelmore(['run', '--image', join(dir, 'not-an-image.pdf'), 'look'], env);
    expect(mistyped.code).toBe(1);
    expect(mistyped.stderr).toBe(
      `jelmore: ${join(dir, 'not-an-image.pdf')} is application/pdf, not an image: give it with --file\n`,
    );
    const notFile = await jelmore(['send', 'some-id', 'x', '--file', dir], env);
    expect(notFile.code).toBe(1);
    expect(notFile.stderr).toContain(`not a file: ${dir}`);
    expect((await api.listSessions()).length).toBe(before);
    expect(server.fake.requests.length).toBe(modelCalls);
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

  it('share prints a link that follow-share follows without a key; shares lists, unshare revokes', async () => {
    const session = await api.createSession({ query: 'share me' });
    const shared = await jelmore(['share', session.id, '--expires', '600'], env);
    expect(shared.code).toBe(0);
    const link = shared.stdout.trimEnd();
    expect(link).toMatch(new RegExp(`^${server.url}/share/jls_[\\w-]+$`));
    const shareId = /^(shr_\S+) · expires \S+Z · revoke: jelmore unshare --session /.exec(
      shared.stderr,
    )![1];

    // No key and no server: the link is all it takes.
    const follow = new Cli(['follow-share', link]);
    await follow.waitFor('stdout', /Echo: share me/);
    expect(follow.stderr.split('\n')[0]).toMatch(
      new RegExp(`^shared session ${session.id} · claude · claude-sonnet-5-5 · \\w+ · share me$`),
    );
    const listed = await jelmore(['shares', session.id], env);
    expect(listed.stdout.split('\n').slice(0, 2)).toEqual([
      expect.stringMatching(/^ID +STATUS +CREATED +EXPIRES$/),
      expect.stringMatching(new RegExp(`^${shareId} +active +\\d+ s ago +\\S+Z$`)),
    ]);
    // Ctrl-C stops a follower, leaving the session as it is.
    const stopped = new Cli(['follow-share', link]);
    await stopped.waitFor('stdout', /Echo: share me/);
    stopped.child.kill('SIGINT');
    expect(await stopped.exited).toBe(0);
    expect(stopped.stderr.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^stopped: session ${session.id} \\w+ · \\d+ in / \\d+ out tokens`),
    );
    await api.send(session.id, 'and more');
    await follow.waitFor('stdout', /Echo: and more/);
    const revoked = await jelmore(['unshare', '--session', session.id, '--id', shareId], env);
    expect(revoked).toMatchObject({ code: 0, stdout: `${shareId} revoked\n` });
    expect(await follow.exited).toBe(1);
    expect(follow.stdout).toBe('Echo: share me\nEcho: and more\n');
    expect(follow.stderr).toContain('jelmore: SHARE_REVOKED: This share link was revoked\n');

    // Another link, by its token on --server, replays the ended session and ends with it.
    const again = JSON.parse((await jelmore(['--json', 'share', session.id], env)).stdout) as {
      token: string;
      url: string;
    };
    await api.terminate(session.id);
    const replay = await jelmore(['--server', server.url, 'follow-share', again.token]);
    expect(replay).toMatchObject({ code: 0, stdout: 'Echo: share me\nEcho: and more\n' });
    expect(replay.stderr.trimEnd().split('\n').at(-1)).toMatch(
      new RegExp(`^session ${session.id} terminated · \\d+ in / \\d+ out tokens`),
    );
    expect((await jelmore(['unshare', again.url], env)).stdout).toMatch(/^shr_\S+ revoked\n$/);
    const refused = await jelmore(['follow-share', again.url]);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe('jelmore: SHARE_REVOKED: This share link was revoked\n');
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
