import express from 'express';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { requestLogger } from './request-logging';

describe('requestLogger', () => {
  function appLoggingTo(lines: Array<Record<string, unknown>>) {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ redact: ['req.headers.authorization'] }, sink);
    const app = express();
    app.use(requestLogger(logger));
    app.get('/v1/thing', (_req, res) => void res.json({ ok: true }));
    app.get('/v1/broken', (_req, res) => void res.status(503).end());
    app.get('/health/live', (_req, res) => void res.end());
    return app;
  }

  it("logs each request once with the caller's id, sent back; a malformed id is replaced", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const app = appLoggingTo(lines);
    const given = await request(app)
      .get('/v1/thing')
      .set('x-request-id', 'abc-123')
      .set('authorization', 'Bearer secret-key');
    expect(given.headers['x-request-id']).toBe('abc-123');
    const made = await request(app).get('/v1/thing').set('x-request-id', 'no spaces allowed');
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 30, req: { id: 'abc-123', url: '/v1/thing' } });
    expect(JSON.stringify(lines[0])).not.toContain('secret-key');
    expect(lines[1]).toMatchObject({ req: { id: made.headers['x-request-id'] } });
  });

  it('logs a 5xx as an error and leaves probes out', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const app = appLoggingTo(lines);
    await request(app).get('/health/live');
    await request(app).get('/v1/broken');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, res: { statusCode: 503 } });
  });
});
