import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SessionEvent } from '@jelmore/contracts';
import { JelmoreClientError } from './client-error';
import { JelmoreClient } from './jelmore-client';
import { openShare, parseShareLink, type OpenedShare } from './shared-session';

const TOKEN = 'jls_abc-DEF_123';
const SESSION = {
  id: 's-1',
  provider: 'claude',
  model: 'm',
  state: 'running',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  usage: {},
  lastSeq: 0,
  share: { id: 'shr_1', expiresAt: '2026-01-02T00:00:00.000Z' },
};

const text = (seq: number): SessionEvent =>
  ({ seq, sessionId: 's-1', type: 'assistant', text: `t${seq}` }) as unknown as SessionEvent;
const ended = (seq: number): SessionEvent =>
  ({ seq, sessionId: 's-1', type: 'status', from: 'idle', to: 'terminated' }) as SessionEvent;
const frame = (e: SessionEvent) => `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** A stand-in server: the share routes answer what each test gives, and every request is kept. */
describe('share links in the client', () => {
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: Array<{
    method?: string;
    url?: string;
    auth?: string;
    accept?: string;
    body: string;
  }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const { method, url: path, headers } = req;
        seen.push({ method, url: path, auth: headers.authorization, accept: headers.accept, body });
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => (seen.length = 0));

  const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const sse = (res: ServerResponse, frames: string) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(frames);
  };

  async function failure(promise: Promise<unknown>): Promise<JelmoreClientError> {
    const error = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(JelmoreClientError);
    return error as JelmoreClientError;
  }

  async function collect(share: OpenedShare, options = {}): Promise<SessionEvent[]> {
    const events: SessionEvent[] = [];
    for await (const event of share.follow(options)) events.push(event);
    return events;
  }

  it('makes, lists and revokes links with the key, by token or by session and id', async () => {
    const client = new JelmoreClient({ url, apiKey: 'k-0123456789abcdef' });
    handler = json(201, { id: 'shr_1', token: TOKEN, url: `${url}/share/${TOKEN}` });
    expect(await client.createShare('a/b', { expiresInSeconds: 60 })).toMatchObject({
      token: TOKEN,
    });
    handler = json(200, []);
    await client.createShare('s');
    await client.listShares('s');
    await client.revokeShare('jls_x/y');
    await client.revokeShare('s', 'shr_1');
    expect(seen.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', '/v1/sessions/a%2Fb/shares', '{"expiresInSeconds":60}'],
      ['POST', '/v1/sessions/s/shares', '{}'],
      ['GET', '/v1/sessions/s/shares', ''],
      ['DELETE', '/v1/shares/jls_x%2Fy', ''],
      ['DELETE', '/v1/sessions/s/shares/shr_1', ''],
    ]);
    expect(seen.every((r) => r.auth === 'Bearer k-0123456789abcdef')).toBe(true);
  });

  it('reads a link without a key; the server under a path prefix and a bare token work too', async () => {
    expect(parseShareLink('https://h.example/jel/share/jls_a?x=1#y')).toEqual({
      url: 'https://h.example/jel',
      token: 'jls_a',
    });
    expect(parseShareLink('http://h:8080/v1/shared/jls_b/')).toEqual({
      url: 'http://h:8080',
      token: 'jls_b',
    });
    expect(() => parseShareLink('jls_c')).toThrow(/Not a share link/);

    handler = (req, res) =>
      req.url!.includes('/events')
        ? json(200, { events: [text(3)] })(req, res)
        : json(200, SESSION)(req, res);
    const share = await JelmoreClient.openShare(`${url}/share/${TOKEN}`);
    expect(share.session).toMatchObject({ id: 's-1', share: { id: 'shr_1' } });
    expect(await share.events({ after: 2, limit: 5 })).toEqual([text(3)]);
    await openShare(`${url}/`, { token: TOKEN });
    expect(seen.map((r) => r.url)).toEqual([
      `/v1/shared/${TOKEN}`,
      `/v1/shared/${TOKEN}/events?after=2&limit=5`,
      `/v1/shared/${TOKEN}`,
    ]);
    expect(seen.every((r) => r.auth === undefined)).toBe(true);
  });

  it("keeps the server's codes and statuses: revoked, expired, not found", async () => {
    for (const [status, code] of [
      [410, 'SHARE_REVOKED'],
      [410, 'SHARE_EXPIRED'],
      [404, 'SHARE_NOT_FOUND'],
    ] as const) {
      handler = json(status, { error: { code, message: 'no' } });
      expect(await failure(openShare(`${url}/share/${TOKEN}`))).toMatchObject({ code, status });
    }
  });

  it('follows over SSE, resumes from its last seq after a drop and LAGGED, and ends with the session', async () => {
    let streams = 0;
    handler = (req, res) => {
      if (!req.url!.includes('/events')) return json(200, SESSION)(req, res);
      streams++;
      if (streams === 1) {
        sse(res, frame(text(1)) + frame(text(2)));
        // Cut mid-frame, as a dropped connection does.
        res.write('id: 3\nevent: assistant\ndata: {"se');
        setTimeout(() => res.destroy(), 20);
      } else if (streams === 2) {
        // A replay that repeats a seq; the client passes it over.
        sse(res, frame(text(2)) + frame(text(3)));
        res.end(`event: error\ndata: ${JSON.stringify({ code: 'LAGGED', message: 'slow' })}\n\n`);
      } else {
        sse(res, `: keep-alive\n\n${frame(text(4))}${frame(ended(5))}`);
      }
    };
    const share = await openShare(`${url}/share/${TOKEN}`);
    const changes: boolean[] = [];
    const events = await collect(share, { onConnectionChange: (up: boolean) => changes.push(up) });
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(changes).toEqual([false, true]);
    const streamed = seen.filter((r) => r.url!.includes('/events'));
    expect(streamed.map((r) => [r.url, r.accept])).toEqual([
      [`/v1/shared/${TOKEN}/events?after=0`, 'text/event-stream'],
      [`/v1/shared/${TOKEN}/events?after=2`, 'text/event-stream'],
      [`/v1/shared/${TOKEN}/events?after=3`, 'text/event-stream'],
    ]);
  });

  it('throws the code of the frame that ends a live stream; ends when the stream ends an ended session', async () => {
    handler = (req, res) => {
      if (!req.url!.includes('/events')) return json(200, SESSION)(req, res);
      sse(res, frame(text(1)));
      res.end(`event: error\ndata: ${JSON.stringify({ code: 'SHARE_REVOKED', message: 'r' })}\n\n`);
    };
    const share = await openShare(`${url}/share/${TOKEN}`);
    const got: SessionEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of share.follow()) got.push(event);
      })(),
    );
    expect(error.code).toBe('SHARE_REVOKED');
    expect(got.map((e) => e.seq)).toEqual([1]);

    // A stream that ends without a terminal event: the session says it has ended.
    handler = (req, res) => {
      if (!req.url!.includes('/events'))
        return json(200, { ...SESSION, state: 'failed' })(req, res);
      sse(res, frame(text(1)));
      res.end();
    };
    expect((await collect(share)).map((e) => e.seq)).toEqual([1]);
    expect(share.session.state).toBe('failed');
  });

  it('stops at break, and answers a refused stream with its code', async () => {
    handler = (req, res) => {
      if (!req.url!.includes('/events')) return json(200, SESSION)(req, res);
      sse(res, frame(text(1)) + frame(text(2)));
    };
    const share = await openShare(`${url}/share/${TOKEN}`);
    for await (const event of share.follow({ after: 1 })) {
      expect(event.seq).toBe(2);
      break;
    }
    handler = json(410, { error: { code: 'SHARE_EXPIRED', message: 'e' } });
    expect(await failure(collect(share))).toMatchObject({ code: 'SHARE_EXPIRED', status: 410 });
  });
});
