import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { JelmoreClient } from './jelmore-client';
import { JelmoreClientError } from './client-error';

/** A stand-in HTTP server for the answers a real Jelmore gives only when something is wrong. */
describe('JelmoreClient over REST', () => {
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        handler(req, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
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

  async function failure(promise: Promise<unknown>): Promise<JelmoreClientError> {
    const error = await promise.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(JelmoreClientError);
    return error as JelmoreClientError;
  }

  it('sends the key as a bearer token and the body as JSON, to paths with encoded ids', async () => {
    handler = json(202, { ok: true });
    const client = new JelmoreClient({ url, apiKey: 'k-0123456789abcdef' });
    await client.send('a/b', 'hello');
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/v1/sessions/a%2Fb/input',
        auth: 'Bearer k-0123456789abcdef',
        body: '{"text":"hello"}',
      },
    ]);
  });

  it("throws the server's error code, message, status and details", async () => {
    handler = json(402, {
      error: { code: 'BUDGET_EXCEEDED', message: 'spent', details: { limitUsd: 1 } },
    });
    const error = await failure(new JelmoreClient({ url }).createSession({ query: 'q' }));
    expect(error).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      message: 'spent',
      status: 402,
      details: { limitUsd: 1 },
    });
  });

  it('calls an answer that is not the API (a proxy page, an empty 502) a bad response', async () => {
    handler = (_req, res) =>
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>oops</h1>');
    expect(await failure(new JelmoreClient({ url }).listSessions())).toMatchObject({
      code: 'CLIENT_BAD_RESPONSE',
      status: 502,
    });
    handler = (_req, res) => res.writeHead(502).end();
    expect(await failure(new JelmoreClient({ url }).listSessions())).toMatchObject({
      code: 'CLIENT_BAD_RESPONSE',
      status: 502,
    });
  });

  it('reports a server that is up but not ready as not ready, not as an error', async () => {
    handler = json(503, { error: { code: 'INTERNAL', message: 'Internal error' } });
    expect(await new JelmoreClient({ url }).health()).toMatchObject({
      ready: false,
      status: 'error',
    });
    handler = json(200, { status: 'ok', info: { store: { status: 'up' } } });
    expect(await new JelmoreClient({ url }).health()).toMatchObject({
      ready: true,
      info: { store: { status: 'up' } },
    });
  });

  it('gives up after its timeout', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    const error = await failure(new JelmoreClient({ url, timeoutMs: 200 }).providers());
    expect(error.code).toBe('CLIENT_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
