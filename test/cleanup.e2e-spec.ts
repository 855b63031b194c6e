import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { AttachmentResource, Checkpoint, SessionResource } from '@jelmore/contracts';
import { SessionCleanupJob, SessionsService } from '@jelmore/sessions';
import { startTestServer, TestServer } from './support/app';
import { git, makeRepository, worktreeFolders } from './support/git';
import { sha256, uploadAttachment } from './support/media';
import { eventually, processesMentioning, waitUntil } from './support/processes';

describe('the cleanup job ends sessions idle past the TTL', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: { JELMORE_SESSION_TTL_SECONDS: '1', JELMORE_EVENT_RETENTION_SECONDS: '60' },
    });
  });

  afterAll(async () => {
    await server?.close();
  });

  it('terminates an idle session past the TTL, kills its agent, and leaves a busy one alone', async () => {
    const http = request(server.url);
    const idle = (await http.post('/v1/sessions').send({ query: 'quick' }).expect(201))
      .body as SessionResource;
    const idleNow = await waitUntil(
      async () => (await http.get(`/v1/sessions/${idle.id}`)).body.state === 'idle',
    );
    expect(idleNow).toBe(true);
    // Fresh activity protects a session: right after it went idle, nothing is expired.
    const job = server.app.get(SessionCleanupJob);
    await job.run();
    expect((await http.get(`/v1/sessions/${idle.id}`)).body.state).toBe('idle');

    const busy = (await http.post('/v1/sessions').send({ query: '[[slow 40]]' }).expect(201))
      .body as SessionResource;
    // The job's clock, moved past the 1 s TTL (not the 60 s retention): no wait on the wall clock.
    await job.run(Date.now() + 1200);
    const ended = (await http.get(`/v1/sessions/${idle.id}`)).body as SessionResource;
    expect(ended.state).toBe('terminated');
    const events = (await http.get(`/v1/sessions/${idle.id}/events`)).body.events;
    expect(events.at(-1)).toMatchObject({ type: 'status', to: 'terminated', reason: 'expired' });
    expect(await eventually(() => processesMentioning(idle.id).length === 0)).toBe(true);
    expect((await http.get(`/v1/sessions/${busy.id}`)).body.state).toBe('running');
    await http.delete(`/v1/sessions/${busy.id}`).expect(200);
  });

  it('prunes the events of sessions that ended longer ago than the retention, and only those', async () => {
    const http = request(server.url);
    const ended = (await http.post('/v1/sessions').send({ query: 'old' }).expect(201))
      .body as SessionResource;
    await waitUntil(async () => (await http.get(`/v1/sessions/${ended.id}`)).body.state === 'idle');
    await http.delete(`/v1/sessions/${ended.id}`).expect(200);
    const live = (await http.post('/v1/sessions').send({ query: 'still here' }).expect(201))
      .body as SessionResource;
    await waitUntil(async () => (await http.get(`/v1/sessions/${live.id}`)).body.state === 'idle');
    const liveBefore = (await http.get(`/v1/sessions/${live.id}/events`)).body.events.length;
    expect((await http.get(`/v1/sessions/${ended.id}/events`)).body.events.length).toBeGreaterThan(
      0,
    );

    // The clock moved past the 60 s retention.
    await server.app.get(SessionsService).pruneEvents(Date.now() + 61_000);
    expect((await http.get(`/v1/sessions/${ended.id}/events`)).body.events).toEqual([]);
    // The session itself, with its usage, stays listed.
    expect((await http.get(`/v1/sessions/${ended.id}`).expect(200)).body.state).toBe('terminated');
    expect((await http.get(`/v1/sessions/${live.id}/events`)).body.events.length).toBe(liveBefore);
    await http.delete(`/v1/sessions/${live.id}`).expect(200);
  });
});

describe('the cleanup job removes the folders and attachments of sessions past retention', () => {
  const RETENTION_SECONDS = 3600;
  let server: TestServer;
  let root: string;
  let outside: string;

  beforeAll(async () => {
    server = await startTestServer({
      env: {
        JELMORE_SCRIPTED_ENABLED: 'true',
        JELMORE_SHARED_WORKSPACE: 'shared',
        JELMORE_EVENT_RETENTION_SECONDS: String(RETENTION_SECONDS),
        // Longer than the retention: moving the clock past it expires no idle session.
        JELMORE_SESSION_TTL_SECONDS: String(10 * RETENTION_SECONDS),
      },
    });
    root = join(server.dir, 'workspace');
    mkdirSync(root, { recursive: true });
    outside = mkdtempSync(join(tmpdir(), 'jelmore-outside-'));
    writeFileSync(join(outside, 'keep.txt'), 'not the workspace');
  });

  afterAll(async () => {
    await server?.close();
    rmSync(outside, { recursive: true, force: true });
  });

  it("removes an ended session's own folder once its retention passes, and nothing else", async () => {
    const http = request(server.url);
    const create = async (cwd?: string) =>
      (
        await http
          .post('/v1/sessions')
          .send({ query: '[[events 1]]', provider: 'scripted', ...(cwd ? { cwd } : {}) })
          .expect(201)
      ).body as SessionResource;
    const end = (session: SessionResource) => http.delete(`/v1/sessions/${session.id}`).expect(200);
    mkdirSync(join(root, 'project'));

    const ended = await create();
    // A link inside the folder is removed as a link: what it points to stays.
    symlinkSync(outside, join(ended.cwd, 'link-out'));
    await end(ended);
    const live = await create();
    // Folders a user gave as cwd are never Jelmore's to remove, nor is the shared workspace.
    await end(await create('project'));
    await end(await create('shared'));
    // An ended session's folder that a live session works in stays while that one does.
    const reused = await create();
    await end(reused);
    const inReused = await create(reused.id);
    // A link named like a session, where no folder was made for it, is not followed.
    const withCwd = await create('project');
    await end(withCwd);
    symlinkSync(outside, join(root, withCwd.id));

    const job = server.app.get(SessionCleanupJob);
    await job.run();
    expect(existsSync(ended.cwd)).toBe(true);

    await job.run(Date.now() + (RETENTION_SECONDS + 60) * 1000);
    expect(existsSync(ended.cwd)).toBe(false);
    expect(existsSync(join(outside, 'keep.txt'))).toBe(true);
    for (const kept of [live.cwd, join(root, 'project'), join(root, 'shared'), reused.cwd]) {
      expect({ kept, exists: existsSync(kept) }).toEqual({ kept, exists: true });
    }
    expect(existsSync(join(root, withCwd.id, 'keep.txt'))).toBe(true);
    expect((await http.get(`/v1/sessions/${ended.id}`).expect(200)).body.state).toBe('terminated');
    await end(live);
    await end(inReused);
  });

  it('deletes the attachments only sessions past retention used; a kept session keeps its own', async () => {
    const http = request(server.url);
    const upload = (text: string) =>
      uploadAttachment(server.url, Buffer.from(text), { contentType: 'text/markdown' });
    const byId = (attachment: AttachmentResource) => ({
      type: 'document',
      attachmentId: attachment.id,
    });
    const start = async (query: unknown[]) => {
      const session = (
        await http.post('/v1/sessions').send({ query, provider: 'scripted' }).expect(201)
      ).body as SessionResource;
      // Idle: the turn took its input, so the session uses its attachments.
      await waitUntil(
        async () => (await http.get(`/v1/sessions/${session.id}`)).body.state === 'idle',
      );
      return session;
    };
    const onlyEnded = await upload('# used by the ended session\n');
    const shared = await upload('# used by both sessions\n');
    const onlyKept = await upload('# used by the kept session\n');
    const text = { type: 'text', text: '[[events 1]]' };
    const inline = { type: 'document', data: Buffer.from('inline notes\n').toString('base64') };
    const ended = await start([text, byId(onlyEnded), byId(shared), inline]);
    const kept = await start([text, byId(shared), byId(onlyKept)]);
    await http.delete(`/v1/sessions/${ended.id}`).expect(200);
    const { events } = (await http.get(`/v1/sessions/${ended.id}/events`).expect(200)).body;
    const inlineId = events.find((e: { type: string }) => e.type === 'user').content[3]
      .attachmentId;
    const status = async (id: string) => (await http.get(`/v1/attachments/${id}`)).status;
    const all = [onlyEnded.id, inlineId, shared.id, onlyKept.id];

    const job = server.app.get(SessionCleanupJob);
    await job.run();
    expect(await Promise.all(all.map(status))).toEqual([200, 200, 200, 200]);

    await job.run(Date.now() + (RETENTION_SECONDS + 60) * 1000);
    for (const id of [onlyEnded.id, inlineId]) {
      const gone = await http.get(`/v1/attachments/${id}`).expect(404);
      expect(gone.body.error.code).toBe('ATTACHMENT_NOT_FOUND');
    }
    for (const attachment of [shared, onlyKept]) {
      const res = await http.get(`/v1/attachments/${attachment.id}`).expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/markdown/);
      expect(sha256(res.text)).toBe(attachment.sha256);
    }
    await http.delete(`/v1/sessions/${kept.id}`).expect(200);
  });

  it('forgets the checkpoints of sessions past retention; a live one keeps its own and its worktree', async () => {
    const http = request(server.url);
    const repo = join(root, 'checked');
    makeRepository(repo, { 'README.md': '# checked\n' });
    const start = async (body: object) => {
      const session = (
        await http
          .post('/v1/sessions')
          .send({ query: '[[events 1]]', provider: 'scripted', cwd: 'checked', ...body })
          .expect(201)
      ).body as SessionResource;
      await waitUntil(
        async () => (await http.get(`/v1/sessions/${session.id}`)).body.state === 'idle',
      );
      return session;
    };
    const turnsOf = async (session: SessionResource) =>
      (
        (await http.get(`/v1/sessions/${session.id}/checkpoints`).expect(200)).body as Checkpoint[]
      ).map((c) => c.turn);
    const ended = await start({});
    const kept = await start({ isolation: 'worktree' });
    expect(await turnsOf(ended)).toEqual([0, 1]);
    await http.delete(`/v1/sessions/${ended.id}`).expect(200);
    const store = readdirSync(join(root, '.jelmore', 'checkpoints'))[0];
    const refsOf = (session: SessionResource) =>
      git(
        join(root, '.jelmore', 'checkpoints', store),
        'for-each-ref',
        '--format=%(refname)',
        `refs/jelmore/${session.id}/`,
      );
    expect(refsOf(ended)).toContain(`refs/jelmore/${ended.id}/turn-1`);

    const job = server.app.get(SessionCleanupJob);
    await job.run();
    expect(await turnsOf(ended)).toEqual([0, 1]);

    await job.run(Date.now() + (RETENTION_SECONDS + 60) * 1000);
    expect(await turnsOf(ended)).toEqual([]);
    expect(refsOf(ended)).toBe('');
    expect(await turnsOf(kept)).toEqual([0, 1]);
    expect(worktreeFolders(repo)).toEqual([repo, kept.cwd]);
    await http.delete(`/v1/sessions/${kept.id}`).expect(200);
    expect(worktreeFolders(repo)).toEqual([repo]);
  });
});
