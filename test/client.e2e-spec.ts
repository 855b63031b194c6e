import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointEvent, SessionEvent, TurnBlock } from '@jelmore/contracts';
import {
  documentBlock,
  imageBlock,
  JelmoreClient,
  JelmoreClientError,
  openShare,
  type SessionEventStream,
} from '@jelmore/client';
import { FakeAnthropicServer } from './fixtures/fake-anthropic';
import { startTestServer, TestServer } from './support/app';
import { makeRepository } from './support/git';
import { pdfDocument, pngImage, sha256 } from './support/media';
import { freePort, ServerProcess } from './support/server-process';
import { TcpProxy } from './support/tcp-proxy';

const ALICE = 'alice-key-0123456789abcdef';
const BOB = 'bob-key-0123456789abcdef';
const KEYS = `alice:${ALICE},bob:${BOB}`;

/** Reads a stream to its end; `on` may act on the session as events arrive. */
async function drain(
  stream: SessionEventStream,
  on: (event: SessionEvent, seen: SessionEvent[]) => Promise<void> | void = () => {},
): Promise<SessionEvent[]> {
  const seen: SessionEvent[] = [];
  for await (const event of stream) {
    seen.push(event);
    await on(event, seen);
  }
  return seen;
}

/** Reads a share's follow to its end, as `drain` does a stream. */
async function drainShare(
  events: AsyncIterable<SessionEvent>,
  on: (event: SessionEvent) => Promise<void> | void = () => {},
): Promise<SessionEvent[]> {
  const seen: SessionEvent[] = [];
  for await (const event of events) {
    seen.push(event);
    await on(event);
  }
  return seen;
}

const count = (events: SessionEvent[], type: SessionEvent['type']) =>
  events.filter((e) => e.type === type).length;

function expectContiguous(events: SessionEvent[], from = 1): void {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + from));
}

async function expectCode(promise: Promise<unknown>, code: string, status?: number) {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(JelmoreClientError);
  expect(error).toMatchObject({ code, ...(status ? { status } : {}) });
}

describe('@jelmore/client against the real server (Claude Code CLI, fake model API)', () => {
  let server: TestServer;
  const clients: JelmoreClient[] = [];
  const client = (options: Partial<ConstructorParameters<typeof JelmoreClient>[0]> = {}) => {
    const made = new JelmoreClient({ url: server.url, apiKey: ALICE, ...options });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    server = await startTestServer({
      // Tenant keys; their sessions may work in the shared folder, where the worktree test's repository is.
      env: {
        JELMORE_API_KEYS: KEYS,
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_SHARED_WORKSPACE: 'shared',
      },
      fake: { slowDelayMs: 150 },
    });
  });

  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('creates a session, streams its turns, sends input, and the stream ends after terminate', async () => {
    const api = client();
    const session = await api.createSession({ query: '[[bash echo from-client > c.txt]]' });
    expect(session).toMatchObject({ provider: 'claude', model: 'claude-sonnet-5-5' });
    const events = await drain(api.stream(session.id), async (event, seen) => {
      if (event.type !== 'result') return;
      if (count(seen, 'result') === 1) await api.send(session.id, 'second turn');
      else await api.terminate(session.id);
    });

    expectContiguous(events);
    expect(events.find((e) => e.type === 'tool_use')).toMatchObject({
      name: 'Bash',
      input: { command: 'echo from-client > c.txt' },
    });
    expect(readFileSync(join(session.cwd, 'c.txt'), 'utf8').trim()).toBe('from-client');
    const results = events.filter((e) => e.type === 'result');
    expect(results.map((r) => r.text)).toEqual(['Tool finished.', 'Echo: second turn']);
    expect(events.at(-1)).toMatchObject({ type: 'status', to: 'terminated' });
    // What the stream gave is exactly the log.
    expect(await api.events(session.id)).toEqual(events);
    expect(await api.getSession(session.id)).toMatchObject({ state: 'terminated' });
    expect((await api.listSessions()).map((s) => s.id)).toContain(session.id);
  });

  it('sends commands over Socket.IO as well, with the same answers and error codes', async () => {
    const api = client({ commands: 'socket' });
    const session = await api.createSession({ query: '[[slow 30]]' });
    const events = await drain(api.stream(session.id), async (event, seen) => {
      if (event.type === 'assistant' && count(seen, 'assistant') === 2) {
        await api.interrupt(session.id);
      }
      if (event.type === 'result') {
        expect(event.interrupted).toBe(true);
        expect(await api.terminate(session.id)).toMatchObject({ state: 'terminated' });
      }
    });
    expect(count(events, 'assistant')).toBeLessThan(30);
    expectContiguous(events);
    const unknown = '00000000-0000-4000-8000-000000000000';
    await expectCode(api.send(unknown, 'x'), 'SESSION_NOT_FOUND');
    await expectCode(client().send(unknown, 'x'), 'SESSION_NOT_FOUND', 404);
    // Ended: no agent to take input, over either transport.
    await expectCode(api.send(session.id, 'x'), 'SESSION_NOT_ACTIVE');
    await expectCode(client().send(session.id, 'x'), 'SESSION_NOT_ACTIVE', 409);
  });

  it('uploads files and sends blocks over REST and Socket.IO; the model gets the exact bytes', async () => {
    const api = client();
    const overSocket = client({ commands: 'socket' });
    const png = pngImage(31);
    const inline = pngImage(32);
    const pdf = pdfDocument('client document');
    const image = await api.uploadAttachment(png);
    expect(image).toMatchObject({ mediaType: 'image/png', size: png.length, sha256: sha256(png) });
    expect((await api.attachment(image.id)).equals(png)).toBe(true);
    // Another key's upload does not exist for this one.
    await expectCode(client({ apiKey: BOB }).attachment(image.id), 'ATTACHMENT_NOT_FOUND', 404);
    const document = await api.uploadAttachment(new Uint8Array(pdf), { name: 'spec.pdf' });
    expect(document).toMatchObject({ mediaType: 'application/pdf', name: 'spec.pdf' });

    const session = await overSocket.createSession({
      query: [{ type: 'text', text: 'first' }, imageBlock(image)],
    });
    const events = await drain(api.stream(session.id), async (event, seen) => {
      if (event.type !== 'result') return;
      const turn = count(seen, 'result');
      // Base64 over Socket.IO; then the first upload again, by id, with the document, over REST.
      if (turn === 1) {
        await overSocket.send(session.id, [
          { type: 'text', text: 'second' },
          { type: 'image', mediaType: 'image/png', data: inline.toString('base64') },
        ]);
      } else if (turn === 2) {
        await api.send(session.id, [
          { type: 'text', text: 'third' },
          imageBlock(image),
          documentBlock(document),
        ]);
      } else await api.terminate(session.id);
    });
    const inputs = events.flatMap((e) => (e.type === 'user' ? [e.content] : []));
    const summary = (blocks: TurnBlock[]) =>
      blocks.map((b) => (b.type === 'text' ? b.text : [b.type, b.sha256, b.name]));
    expect(inputs.map(summary)).toEqual([
      ['first', ['image', sha256(png), undefined]],
      ['second', ['image', sha256(inline), undefined]],
      ['third', ['image', sha256(png), undefined], ['document', sha256(pdf), 'spec.pdf']],
    ]);
    // The reference names the upload it reused.
    expect(inputs[2][1]).toMatchObject({ attachmentId: image.id });
    const sentToModel = server.fake.base64Sent().map((sent) => `${sent.type} ${sent.sha256}`);
    expect(sentToModel).toEqual(
      expect.arrayContaining([
        `image ${sha256(png)}`,
        `image ${sha256(inline)}`,
        `document ${sha256(pdf)}`,
      ]),
    );
    expect((await api.getSession(session.id)).title).toBe('first');
  });

  it("replays an ended session and ends; from the session's end it ends at once", async () => {
    const api = client();
    const session = await api.createSession({ query: 'short' });
    const live = await drain(api.stream(session.id), async (event) => {
      if (event.type === 'result') await api.terminate(session.id);
    });
    const replay = await drain(client().stream(session.id));
    expect(replay).toEqual(live);
    const fromEnd = client().stream(session.id, { after: live.at(-1)!.seq });
    expect(await drain(fromEnd)).toEqual([]);
    const fromMiddle = await drain(client().stream(session.id, { after: 3 }));
    expect(fromMiddle).toEqual(live.slice(3));
  });

  it('pauses a slow consumer at its high-water mark and resumes it, each seq once', async () => {
    const api = client();
    const session = await api.createSession({
      provider: 'scripted',
      query: '[[events 3000]] [[rate 0]]',
    });
    const pauses: boolean[] = [];
    let heldBack!: () => void;
    const paused = new Promise<void>((resolve) => (heldBack = resolve));
    const stream = api.stream(session.id, {
      highWaterMark: 100,
      onPauseChange: (isPaused) => {
        pauses.push(isPaused);
        if (isPaused) heldBack();
      },
    });
    const events = await drain(stream, async (event, seen) => {
      // The consumer stops at the first event until the client has held back (unsubscribed at its
      // high-water mark): the server is faster than it, so that has to come.
      if (seen.length === 1) await paused;
      if (event.type === 'result') await api.terminate(session.id);
    });
    expectContiguous(events);
    expect(count(events, 'assistant')).toBe(3000);
    // Paused, then resumed from where it stopped (a subscription of its own).
    expect(pauses.slice(0, 2)).toEqual([true, false]);
    expect(stream.subscriptions).toBeGreaterThan(1);
  });

  it('resumes from its last seq after the network drops, telling the caller', async () => {
    const proxy = new TcpProxy(Number(new URL(server.url).port));
    await proxy.start();
    try {
      const api = client({ url: `http://127.0.0.1:${proxy.port}` });
      const session = await api.createSession({ query: '[[slow 8]]' });
      const connection: boolean[] = [];
      let lost!: () => void;
      const dropped = new Promise<void>((resolve) => (lost = resolve));
      const stream = api.stream(session.id, {
        onConnectionChange: (up) => {
          connection.push(up);
          if (!up) lost();
        },
      });
      const events = await drain(stream, async (event, seen) => {
        if (event.type === 'assistant' && count(seen, 'assistant') === 2) {
          await proxy.cut();
          // The network comes back once the client has noticed it was gone.
          await dropped;
          await proxy.restore();
        }
        if (event.type === 'result') await api.terminate(session.id);
      });
      expect(connection).toEqual([false, true]);
      expect(stream.subscriptions).toBeGreaterThanOrEqual(2);
      expectContiguous(events);
      expect(count(events, 'assistant')).toBe(8);
      expect(await client().events(session.id)).toEqual(events);
    } finally {
      await proxy.stop();
    }
  });

  it('lists checkpoints, diffs, forks and rewinds a worktree session over REST and Socket.IO', async () => {
    const repo = join(server.dir, 'workspace', 'shared', 'repo');
    makeRepository(repo, { 'README.md': '# demo\n' });
    const api = client();
    const overSocket = client({ commands: 'socket' });
    const session = await overSocket.createSession({
      query: '[[bash echo one > a.txt]]',
      cwd: 'shared/repo',
      isolation: 'worktree',
    });
    const id = session.id;
    expect(session).toMatchObject({
      isolation: 'worktree',
      worktree: { repository: repo, branch: `jelmore/${id}` },
    });
    const recorded: CheckpointEvent[] = [];
    for await (const event of api.stream(id)) {
      if (event.type === 'checkpoint') recorded.push(event);
      if (event.type === 'checkpoint' && event.turn === 1) {
        await api.send(id, '[[bash echo two > b.txt]]');
      }
      // Turn 2's checkpoint comes before the session is idle again, and rewind wants it idle.
      if (recorded.length === 3 && event.type === 'status' && event.to === 'idle') break;
    }
    const checkpoints = await overSocket.checkpoints(id);
    expect(checkpoints.map((c) => [c.turn, c.commit, c.filesChanged])).toEqual(
      recorded.map((e) => [e.turn, e.commit, e.filesChanged]),
    );
    expect(checkpoints.map((c) => c.filesChanged)).toEqual([0, 1, 1]);

    const turnTwo = await api.diff(id, { from: 1, to: 2 });
    expect(turnTwo).toMatchObject({
      from: 1,
      to: 2,
      files: [{ path: 'b.txt', status: 'added', additions: 1, deletions: 0 }],
    });
    expect(await api.patch(id, { from: 1, to: 2 })).toBe(turnTwo.patch);
    expect(turnTwo.patch).toContain('+++ b/b.txt');
    const whole = await api.diff(id);
    expect(whole.to).toBeUndefined();
    expect(whole.files.map((f) => f.path)).toEqual(['a.txt', 'b.txt']);

    // Fork at turn 1 over Socket.IO; over REST with no turn, at the last checkpoint.
    const atOne = await overSocket.fork(id, { turn: 1 });
    const atLast = await api.fork(id);
    for (const [fork, turn] of [
      [atOne, 1],
      [atLast, 2],
    ] as const) {
      expect(fork).toMatchObject({
        parentId: id,
        forkedFrom: { sessionId: id, turn },
        state: 'idle',
        worktree: { branch: `jelmore/${fork.id}` },
      });
      expect(readFileSync(join(fork.cwd, 'a.txt'), 'utf8')).toBe('one\n');
      expect(existsSync(join(fork.cwd, 'b.txt'))).toBe(turn === 2);
    }

    // Rewind over Socket.IO (the ack's `ok` is not part of the answer), then to the start over REST.
    const toOne = await overSocket.rewind(id, 1);
    expect(Object.keys(toOne).sort()).toEqual(['conversation', 'filesChanged', 'session', 'turn']);
    expect(toOne).toMatchObject({
      turn: 1,
      filesChanged: 1,
      conversation: 'truncated',
      session: { id, state: 'idle' },
    });
    expect(existsSync(join(session.cwd, 'b.txt'))).toBe(false);
    const toStart = await api.rewind(id, 0);
    expect(toStart).toMatchObject({ turn: 0, filesChanged: 1, conversation: 'kept' });
    expect(existsSync(join(session.cwd, 'a.txt'))).toBe(false);

    await expectCode(api.rewind(id, 9), 'CHECKPOINT_NOT_FOUND', 404);
    await expectCode(overSocket.rewind(id, 9), 'CHECKPOINT_NOT_FOUND');
    await expectCode(overSocket.fork(id, { turn: 9 }), 'CHECKPOINT_NOT_FOUND');
    await expectCode(api.diff(id, { from: 5 }), 'CHECKPOINT_NOT_FOUND', 404);
    await expectCode(api.patch(id, { from: 5 }), 'CHECKPOINT_NOT_FOUND', 404);
    // Another key's session has no checkpoints for this one.
    await expectCode(client({ apiKey: BOB }).checkpoints(id), 'SESSION_NOT_FOUND', 404);

    for (const each of [atOne, atLast, session]) {
      expect((await api.terminate(each.id)).worktreeRemoved).toEqual({
        branch: `jelmore/${each.id}`,
        branchKept: false,
      });
    }
  });

  it('makes share links; one follows the session live without a key; the owner lists and revokes them', async () => {
    const api = client();
    const session = await api.createSession({ query: '[[slow 6]]' });
    const made = await api.createShare(session.id, { expiresInSeconds: 600 });
    expect(made).toMatchObject({ sessionId: session.id, status: 'active', revokedAt: null });
    expect(made.url).toBe(`${server.url}/share/${made.token}`);
    const share = await JelmoreClient.openShare(made.url);
    expect(share.session).toMatchObject({ id: session.id, share: { id: made.id } });
    expect(share.session).not.toHaveProperty('cwd');

    // Live: the owner sends a second turn after the first result, and terminates after the second.
    const followed: SessionEvent[] = [];
    for await (const event of share.follow()) {
      followed.push(event);
      if (event.type !== 'result') continue;
      if (count(followed, 'result') === 1) await api.send(session.id, 'second turn');
      else await api.terminate(session.id);
    }
    expectContiguous(followed);
    expect(followed.at(-1)).toMatchObject({ type: 'status', to: 'terminated' });
    expect(followed.filter((e) => e.type === 'result').at(-1)).toMatchObject({
      text: 'Echo: second turn',
    });
    const seqs = (events: SessionEvent[]) => events.map((e) => e.seq);
    expect(seqs(await share.events())).toEqual(seqs(followed));
    expect(seqs(await api.events(session.id))).toEqual(seqs(followed));
    // From the end of an ended session, a follow ends at once.
    expect(await drainShare(share.follow({ after: followed.length }))).toEqual([]);

    const second = await api.createShare(session.id);
    const listed = await api.listShares(session.id);
    expect(listed.map((s) => [s.id, s.status])).toEqual([
      [made.id, 'active'],
      [second.id, 'active'],
    ]);
    expect(listed.some((s) => 'token' in s || 'url' in s)).toBe(false);
    const bob = client({ apiKey: BOB });
    await expectCode(bob.listShares(session.id), 'SESSION_NOT_FOUND', 404);
    await expectCode(bob.revokeShare(made.token), 'SHARE_NOT_FOUND', 404);
    await expectCode(client({ apiKey: made.token }).listSessions(), 'SHARE_TOKEN_READ_ONLY', 403);
    await expectCode(
      api.createShare(session.id, { expiresInSeconds: 0 }),
      'VALIDATION_FAILED',
      400,
    );

    expect(await api.revokeShare(made.token)).toMatchObject({ id: made.id, status: 'revoked' });
    expect(await api.revokeShare(session.id, second.id)).toMatchObject({
      id: second.id,
      status: 'revoked',
    });
    await expectCode(JelmoreClient.openShare(made.url), 'SHARE_REVOKED', 410);
    await expectCode(share.events(), 'SHARE_REVOKED', 410);
    await expectCode(openShare(server.url, { token: 'jls_unknown' }), 'SHARE_NOT_FOUND', 404);
  });

  it('a follow of a running session ends with SHARE_REVOKED when its link is revoked', async () => {
    const api = client();
    const session = await api.createSession({ query: '[[slow 60]]' });
    const made = await api.createShare(session.id);
    const share = await openShare(made.url);
    const seen: SessionEvent[] = [];
    const followed = drainShare(share.follow(), async (event) => {
      seen.push(event);
      if (event.type === 'assistant' && count(seen, 'assistant') === 1) {
        await api.revokeShare(made.token);
      }
    });
    await expectCode(followed, 'SHARE_REVOKED');
    expect(count(seen, 'assistant')).toBeLessThan(60);
    await api.terminate(session.id);
  });

  it('reports refused keys, missing sessions, unreachable servers and a second stream', async () => {
    const wrong = client({ apiKey: 'wrong-key-0123456789' });
    await expectCode(wrong.listSessions(), 'UNAUTHORIZED', 401);
    await expectCode(client({ apiKey: undefined }).providers(), 'UNAUTHORIZED', 401);
    await expectCode(
      client({ apiKey: 'wrong-key-0123456789', commands: 'socket' }).createSession({ query: 'x' }),
      'UNAUTHORIZED',
    );
    await expectCode(drain(wrong.stream('00000000-0000-4000-8000-000000000000')), 'UNAUTHORIZED');

    const api = client();
    const bobs = await client({ apiKey: BOB }).createSession({ query: 'mine' });
    // Another key's session does not exist for this one.
    await expectCode(api.getSession(bobs.id), 'SESSION_NOT_FOUND', 404);
    await expectCode(drain(api.stream(bobs.id)), 'SESSION_NOT_FOUND');
    const first = client({ apiKey: BOB }).stream(bobs.id);
    const same = clients.at(-1)!;
    expect(() => same.stream(bobs.id)).toThrow(
      expect.objectContaining({ code: 'CLIENT_ALREADY_STREAMING' }),
    );
    first.close();
    await client({ apiKey: BOB }).terminate(bobs.id);

    const port = await freePort();
    await expectCode(
      new JelmoreClient({ url: `http://127.0.0.1:${port}` }).health(),
      'CLIENT_NETWORK',
    );
    const readiness = await api.health();
    expect(readiness).toMatchObject({ ready: true, status: 'ok' });
    const providers = await api.providers();
    expect(providers.providers.map((p) => p.name)).toEqual(
      expect.arrayContaining(['claude', 'scripted']),
    );
    expect((await api.providerHealth()).claude).toMatchObject({ healthy: true, circuit: 'closed' });
  });
});

describe('@jelmore/client across a server crash (built server process)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-client-crash-'));
  const fake = new FakeAnthropicServer({ slowDelayMs: 100 });
  let server: ServerProcess;

  beforeAll(async () => {
    const fakeUrl = await fake.start();
    server = new ServerProcess(await freePort(), {
      JELMORE_DATA_DIR: join(dir, 'data'),
      JELMORE_WORKSPACE_ROOT: join(dir, 'workspace'),
      JELMORE_LOG_LEVEL: 'warn',
      ANTHROPIC_BASE_URL: fakeUrl,
      ANTHROPIC_API_KEY: 'test-key-not-secret',
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.kill('SIGTERM');
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps streaming through SIGKILL and restart: every seq once, then the resumed session', async () => {
    const api = new JelmoreClient({ url: server.url });
    try {
      const session = await api.createSession({ query: '[[slow 100]]' });
      const connection: boolean[] = [];
      const stream = api.stream(session.id, { onConnectionChange: (up) => connection.push(up) });
      let crashed = false;
      const events = await drain(stream, async (event, seen) => {
        if (!crashed && event.type === 'assistant' && count(seen, 'assistant') === 5) {
          crashed = true;
          await server.kill('SIGKILL');
          await server.start();
        }
        if (event.type === 'status' && event.to === 'interrupted') {
          await api.resume(session.id);
          await api.send(session.id, 'after the crash');
        }
        if (event.type === 'result' && event.text.includes('after the crash')) {
          await api.terminate(session.id);
        }
      });
      expect(connection).toEqual([false, true]);
      expectContiguous(events);
      expect(events.map((e) => (e.type === 'status' ? e.to : undefined)).filter(Boolean)).toEqual(
        expect.arrayContaining(['interrupted', 'idle', 'running', 'terminated']),
      );
      expect(await api.events(session.id, { limit: 10_000 })).toEqual(events);
    } finally {
      api.close();
    }
  });
});
