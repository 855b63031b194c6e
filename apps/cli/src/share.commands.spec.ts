import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import type { OutputStream } from './event-printer';
import { buildProgram } from './program';

class Capture implements OutputStream {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

const LINK = {
  id: 'shr_1',
  sessionId: 's1',
  // Two days and a bit ago: `2 d ago` however long the test takes.
  createdAt: new Date(Date.now() - 2.5 * 86_400_000).toISOString(),
  expiresAt: '2030-01-01T00:00:00.000Z',
  revokedAt: null,
  status: 'active',
};

/** The share commands against a stand-in server: what they ask for, and what they print. */
describe('jelmore share, shares and unshare', () => {
  let server: Server;
  let url: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: Array<{ method?: string; url?: string; auth?: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, auth: req.headers.authorization, body });
        answer(req, res);
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
  afterEach(() => (process.exitCode = undefined));

  const json = (status: number, body: unknown) => (_req: IncomingMessage, res: ServerResponse) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

  async function jelmore(...args: string[]) {
    const out = new Capture();
    const err = new Capture();
    const program = buildProgram({ out, err }, {});
    const noExit = (command: Command) => {
      command.exitOverride();
      command.commands.forEach(noExit);
    };
    noExit(program);
    const usageError = await program
      .parseAsync(['node', 'jelmore', '--server', url, '--key', 'k', ...args])
      .then(() => undefined)
      .catch((e: unknown) => e);
    return { out: out.text, err: err.text, code: process.exitCode, usageError };
  }

  it('share prints the link alone on stdout, and how to revoke it on stderr', async () => {
    answer = json(201, { ...LINK, token: 'jls_t', url: 'http://h/share/jls_t' });
    expect(await jelmore('share', 's1', '--expires', '3600')).toEqual({
      out: 'http://h/share/jls_t\n',
      err: 'shr_1 · expires 2030-01-01T00:00:00.000Z · revoke: jelmore unshare --session s1 --id shr_1\n',
      code: 0,
      usageError: undefined,
    });
    expect(seen).toEqual([
      {
        method: 'POST',
        url: '/v1/sessions/s1/shares',
        auth: 'Bearer k',
        body: '{"expiresInSeconds":3600}',
      },
    ]);
    expect((await jelmore('share', 's1', '--expires', '0')).usageError).toMatchObject({
      exitCode: 1,
    });
    expect(seen).toHaveLength(1);
  });

  it('shares lists the links as a table, or as JSON', async () => {
    answer = json(200, [LINK, { ...LINK, id: 'shr_2', status: 'revoked' }]);
    const listed = await jelmore('shares', 's1');
    expect(listed.out.split('\n').slice(0, 3)).toEqual([
      'ID     STATUS   CREATED  EXPIRES',
      'shr_1  active   2 d ago  2030-01-01T00:00:00.000Z',
      'shr_2  revoked  2 d ago  2030-01-01T00:00:00.000Z',
    ]);
    expect(JSON.parse((await jelmore('--json', 'shares', 's1')).out)).toHaveLength(2);
    answer = json(200, []);
    expect((await jelmore('shares', 's1')).out).toBe('no share links\n');
  });

  it('unshare revokes by link, by token, or by session and id; not by a mix', async () => {
    answer = json(200, { ...LINK, status: 'revoked' });
    expect((await jelmore('unshare', 'http://h/base/share/jls_a')).out).toBe('shr_1 revoked\n');
    await jelmore('unshare', 'jls_b');
    await jelmore('unshare', '--session', 's1', '--id', 'shr_1');
    expect(seen.map((r) => [r.method, r.url])).toEqual([
      ['DELETE', '/v1/shares/jls_a'],
      ['DELETE', '/v1/shares/jls_b'],
      ['DELETE', '/v1/sessions/s1/shares/shr_1'],
    ]);
    seen.length = 0;
    for (const args of [['jls_c', '--id', 'shr_1'], ['--session', 's1'], []]) {
      expect(await jelmore('unshare', ...args)).toMatchObject({
        err: 'jelmore: give a link or token, or both --session and --id\n',
        code: 1,
      });
    }
    expect(seen).toEqual([]);
  });

  it("prints the server's code: a link of another key's session", async () => {
    answer = json(404, { error: { code: 'SHARE_NOT_FOUND', message: 'No such share link' } });
    expect(await jelmore('unshare', 'jls_x')).toMatchObject({
      err: 'jelmore: SHARE_NOT_FOUND: No such share link\n',
      code: 1,
    });
  });
});
