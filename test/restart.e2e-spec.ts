import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import type { SessionEvent, SessionResource } from '@jelmore/contracts';
import { lastUserContent, textOf } from './fixtures/fake-anthropic';
import { startTestServer } from './support/app';
import { processesMentioning, waitUntil } from './support/processes';

async function waitForState(url: string, id: string, state: string): Promise<boolean> {
  return waitUntil(async () => {
    const res = await request(url).get(`/v1/sessions/${id}`);
    return (res.body as SessionResource).state === state;
  });
}

describe('a server shutdown suspends sessions; the next server resumes them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jelmore-restart-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps the conversation, the log and its seq across the restart', async () => {
    const first = await startTestServer({ dir });
    const created = await request(first.url)
      .post('/v1/sessions')
      .send({ query: 'remember the fruit kiwi' })
      .expect(201);
    const id = (created.body as SessionResource).id;
    expect(await waitForState(first.url, id, 'idle')).toBe(true);
    const before = (await request(first.url).get(`/v1/sessions/${id}/events`)).body
      .events as SessionEvent[];
    await first.close();
    expect(processesMentioning(id)).toEqual([]);

    const second = await startTestServer({ dir });
    try {
      const session = (await request(second.url).get(`/v1/sessions/${id}`).expect(200)).body;
      expect(session).toMatchObject({ state: 'suspended' });
      const log = (await request(second.url).get(`/v1/sessions/${id}/events`)).body
        .events as SessionEvent[];
      expect(log.slice(0, before.length)).toEqual(before);
      expect(log[before.length]).toMatchObject({
        seq: before.length + 1,
        type: 'status',
        from: 'idle',
        to: 'suspended',
        reason: 'server shutting down',
      });

      await request(second.url).post(`/v1/sessions/${id}/resume`).expect(200);
      await request(second.url)
        .post(`/v1/sessions/${id}/input`)
        .send({ text: 'which fruit?' })
        .expect(202);
      expect(await waitForState(second.url, id, 'idle')).toBe(true);
      const asked = second.fake
        .agentRequests()
        .find((r) => textOf(lastUserContent(r)).includes('which fruit?'));
      expect(JSON.stringify(asked?.messages)).toContain('remember the fruit kiwi');
      const after = (await request(second.url).get(`/v1/sessions/${id}/events`)).body
        .events as SessionEvent[];
      expect(after.map((e) => e.seq)).toEqual(after.map((_, i) => i + 1));
      await request(second.url).delete(`/v1/sessions/${id}`).expect(200);
    } finally {
      await second.close();
    }
  });
});

describe('max_concurrent_sessions', () => {
  it('refuses a session past the limit with PROVIDER_UNAVAILABLE, and accepts again once one ends', async () => {
    const server = await startTestServer({ env: { JELMORE_CLAUDE_MAX_CONCURRENT_SESSIONS: '1' } });
    try {
      const http = request(server.url);
      const one = await http.post('/v1/sessions').send({ query: 'one' }).expect(201);
      const full = await http.post('/v1/sessions').send({ query: 'two' }).expect(503);
      expect(full.body.error).toMatchObject({ code: 'PROVIDER_UNAVAILABLE' });
      expect(full.body.error.message).toContain('at capacity (1/1');
      await http.delete(`/v1/sessions/${one.body.id}`).expect(200);
      const three = await http.post('/v1/sessions').send({ query: 'three' }).expect(201);
      await http.delete(`/v1/sessions/${three.body.id}`).expect(200);
    } finally {
      await server.close();
    }
  });
});
