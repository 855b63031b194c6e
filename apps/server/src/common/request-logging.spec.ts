import express from 'express';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { redactUrl, requestLogger } from './request-logging';

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
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      req: { id: 'abc-123', method: 'GET', url: '/v1/thing' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number),
    });
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

  it('never logs the value of a secret-looking query parameter, in the URL or the parsed query', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const app = appLoggingTo(lines);
    app.get('/v1/query', (req, res) => void res.json(req.query));
    const res = await request(app).get(
      '/v1/query?after=5&token=tok-secret&api_key=ak-secret&Key=k-secret&access%5Ftoken=at-secret',
    );
    // The route still sees what was sent: only the log is redacted.
    expect(res.body).toMatchObject({ token: 'tok-secret', after: '5' });
    expect(lines).toHaveLength(1);
    const logged = JSON.stringify(lines[0]);
    for (const secret of ['tok-secret', 'ak-secret', 'k-secret', 'at-secret']) {
      expect(logged).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      req: {
        url: '/v1/query?after=5&token=[Redacted]&api_key=[Redacted]&Key=[Redacted]&access%5Ftoken=[Redacted]',
        query: { after: '5', token: '[Redacted]', api_key: '[Redacted]' },
      },
    });
  });
});

describe('redactUrl', () => {
  it.each([
    ['/v1/sessions', '/v1/sessions'],
    ['/v1/sessions?after=3&limit=10', '/v1/sessions?after=3&limit=10'],
    [
      '/v1/x?apikey=s&password=s&secret=s',
      '/v1/x?apikey=[Redacted]&password=[Redacted]&secret=[Redacted]',
    ],
    ['/v1/x?authorization=Bearer%20s&auth=s', '/v1/x?authorization=[Redacted]&auth=[Redacted]'],
    ['/v1/x?token&a=1&token[]=s', '/v1/x?token&a=1&token[]=[Redacted]'],
    ['/v1/x?%E0%A4%A=1', '/v1/x?%E0%A4%A=1'],
  ])('%s', (url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });
});
