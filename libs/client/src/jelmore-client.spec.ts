import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ContentBlock } from '@jelmore/contracts';
import { JelmoreClient } from './jelmore-client';
import { JelmoreClientError } from './client-error';
import { documentBlock, imageBlock } from './content-blocks';

/** A stand-in HTTP server for the answers a real Jelmore gives only when something is wrong. */
describe('JelmoreClient over REST', () => {
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: Array<{
    method?: string;
    url?: string;
    auth?: string;
    accept?: string;
    contentType?: string;
    body: string;
    bytes: Buffer;
  }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const bytes = Buffer.concat(chunks);
        seen.push({
          method: req.method,
          url: req.url,
          auth: req.headers.authorization,
          accept: req.headers.accept,
          contentType: req.headers['content-type'],
          body: bytes.toString(),
          bytes,
        });
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
    expect(seen).toMatchObject([
      {
        method: 'POST',
        url: '/v1/sessions/a%2Fb/input',
        auth: 'Bearer k-0123456789abcdef',
        body: '{"text":"hello"}',
      },
    ]);
  });

  it('sends content blocks as they are, in a query and in an input', async () => {
    handler = json(201, { id: 's1' });
    const client = new JelmoreClient({ url });
    const blocks: ContentBlock[] = [
      { type: 'text', text: 'what is on it?' },
      imageBlock({ id: 'att-1' }),
      { type: 'document', mediaType: 'text/plain', data: 'aGk=', name: 'n.txt' },
    ];
    await client.createSession({ query: blocks, provider: 'claude' });
    await client.send('s1', blocks);
    expect(seen.map((r) => [r.url, r.contentType, JSON.parse(r.body) as unknown])).toEqual([
      ['/v1/sessions', 'application/json', { query: blocks, provider: 'claude' }],
      ['/v1/sessions/s1/input', 'application/json', { text: blocks }],
    ]);
  });

  it('uploads the bytes as the body, exactly, and keeps the name for documentBlock', async () => {
    const resource = {
      id: 'att-9',
      mediaType: 'application/pdf',
      size: 4,
      sha256: 'x',
      createdAt: '2025-01-01T00:00:00Z',
    };
    handler = json(201, resource);
    const client = new JelmoreClient({ url, apiKey: 'k-0123456789abcdef' });
    // A view into a larger buffer: only the view's bytes go, and bytes that are not UTF-8 survive.
    const backing = Buffer.from([1, 2, 0xff, 0xfe, 0x00, 0x80, 9, 9]);
    const upload = await client.uploadAttachment(backing.subarray(2, 6), {
      contentType: 'application/pdf',
      name: 'spec.pdf',
    });
    expect(upload).toEqual({ ...resource, name: 'spec.pdf' });
    expect(documentBlock(upload)).toEqual({
      type: 'document',
      attachmentId: 'att-9',
      name: 'spec.pdf',
    });
    await client.uploadAttachment(new Uint8Array([0x89, 0x50]));
    expect(seen.map((r) => [r.method, r.url, r.auth, r.contentType, [...r.bytes]])).toEqual([
      [
        'POST',
        '/v1/attachments',
        'Bearer k-0123456789abcdef',
        'application/pdf',
        [0xff, 0xfe, 0, 0x80],
      ],
      [
        'POST',
        '/v1/attachments',
        'Bearer k-0123456789abcdef',
        'application/octet-stream',
        [0x89, 0x50],
      ],
    ]);
  });

  it('downloads an attachment as bytes; an unknown one fails with its code', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0x00]);
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(png);
    const client = new JelmoreClient({ url });
    expect((await client.attachment('a/1')).equals(png)).toBe(true);
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/v1/attachments/a%2F1' });

    handler = json(404, { error: { code: 'ATTACHMENT_NOT_FOUND', message: 'No attachment' } });
    expect(await failure(client.attachment('nope'))).toMatchObject({
      code: 'ATTACHMENT_NOT_FOUND',
      status: 404,
    });
    handler = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>');
    expect(await failure(client.attachment('nope'))).toMatchObject({
      code: 'CLIENT_BAD_RESPONSE',
      status: 502,
    });
  });

  it('creates a session in a worktree, from a base ref', async () => {
    handler = json(201, { id: 's1', isolation: 'worktree' });
    await new JelmoreClient({ url }).createSession({
      query: 'q',
      isolation: 'worktree',
      baseRef: 'main~1',
    });
    expect(JSON.parse(seen[0].body)).toEqual({
      query: 'q',
      isolation: 'worktree',
      baseRef: 'main~1',
    });
  });

  it('reads checkpoints, and a diff as JSON or as the patch alone', async () => {
    const client = new JelmoreClient({ url });
    const checkpoint = { turn: 0, commit: 'abc', filesChanged: 0, createdAt: 't' };
    handler = json(200, [checkpoint]);
    expect(await client.checkpoints('a/b')).toEqual([checkpoint]);
    const diff = { from: 1, to: 2, files: [], patch: '' };
    handler = json(200, diff);
    expect(await client.diff('s1', { from: 1, to: 2 })).toEqual(diff);
    await client.diff('s1');
    const patch = 'diff --git a/x b/x\n+é\n';
    handler = (_req, res) => res.writeHead(200, { 'content-type': 'text/x-diff' }).end(patch);
    // Turn 0 is a turn like any other, not a missing parameter.
    expect(await client.patch('s1', { from: 0 })).toBe(patch);
    expect(seen.map((r) => [r.method, r.url, r.accept])).toEqual([
      ['GET', '/v1/sessions/a%2Fb/checkpoints', 'application/json'],
      ['GET', '/v1/sessions/s1/diff?from=1&to=2', 'application/json'],
      ['GET', '/v1/sessions/s1/diff', 'application/json'],
      ['GET', '/v1/sessions/s1/diff?from=0', 'text/x-diff'],
    ]);

    handler = json(404, { error: { code: 'CHECKPOINT_NOT_FOUND', message: 'No turn 9' } });
    expect(await failure(client.patch('s1', { to: 9 }))).toMatchObject({
      code: 'CHECKPOINT_NOT_FOUND',
      message: 'No turn 9',
      status: 404,
    });
  });

  it('forks (at a turn or the last checkpoint) and rewinds over REST', async () => {
    const client = new JelmoreClient({ url });
    const child = { id: 's2', parentId: 's1', forkedFrom: { sessionId: 's1', turn: 2 } };
    handler = json(201, child);
    expect(await client.fork('s1', { turn: 2 })).toEqual(child);
    await client.fork('s1');
    const rewound = { session: { id: 's1' }, turn: 1, filesChanged: 3, conversation: 'kept' };
    handler = json(200, rewound);
    expect(await client.rewind('s1', 1)).toEqual(rewound);
    expect(seen.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', '/v1/sessions/s1/fork', '{"turn":2}'],
      ['POST', '/v1/sessions/s1/fork', '{}'],
      ['POST', '/v1/sessions/s1/rewind', '{"turn":1}'],
    ]);

    handler = json(409, { error: { code: 'FORK_UNSUPPORTED', message: 'codex cannot fork' } });
    expect(await failure(client.fork('s1'))).toMatchObject({
      code: 'FORK_UNSUPPORTED',
      status: 409,
    });
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
