import request from 'supertest';
import type { SessionResource } from '@jelmore/contracts';
import { SessionCleanupJob, SessionsService } from '@jelmore/sessions';
import { startTestServer, TestServer } from './support/app';
import { eventually, processesMentioning, waitUntil } from './support/processes';

describe('the cleanup job ends sessions idle past the TTL', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({
      env: { JELMORE_SESSION_TTL_SECONDS: '1', JELMORE_EVENT_RETENTION_SECONDS: '1' },
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
    await new Promise((r) => setTimeout(r, 1200));
    await job.run();
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

    await new Promise((r) => setTimeout(r, 1100));
    await server.app.get(SessionsService).pruneEvents();
    expect((await http.get(`/v1/sessions/${ended.id}/events`)).body.events).toEqual([]);
    // The session itself, with its usage, stays listed.
    expect((await http.get(`/v1/sessions/${ended.id}`).expect(200)).body.state).toBe('terminated');
    expect((await http.get(`/v1/sessions/${live.id}/events`)).body.events.length).toBe(liveBefore);
    await http.delete(`/v1/sessions/${live.id}`).expect(200);
  });
});
