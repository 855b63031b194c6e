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

/** The checkpoint commands against a stand-in server: what they ask for, and what they print. */
describe('jelmore diff, fork and rewind', () => {
  let server: Server;
  let url: string;
  let answer: (req: IncomingMessage, res: ServerResponse) => void;
  const seen: Array<{ method?: string; url?: string; accept?: string; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, accept: req.headers.accept, body });
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

  /** Runs `jelmore <args>`; commander's usage errors come back instead of exiting. */
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
      .parseAsync(['node', 'jelmore', '--server', url, ...args])
      .then(() => undefined)
      .catch((e: unknown) => e);
    return { out: out.text, err: err.text, code: process.exitCode, usageError };
  }

  it("prints a turn's own patch, asked for as text/x-diff", async () => {
    const patch = 'diff --git a/x b/x\n+y\n';
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/x-diff' }).end(patch);
    expect(await jelmore('diff', 's1', '--turn', '2')).toMatchObject({ out: patch, code: 0 });
    expect(seen).toMatchObject([
      { url: '/v1/sessions/s1/diff?from=1&to=2', accept: 'text/x-diff' },
    ]);
    answer = (_req, res) => res.writeHead(200, { 'content-type': 'text/x-diff' }).end('');
    expect(await jelmore('diff', 's1')).toMatchObject({ out: '', err: 'no changes\n' });
  });

  it('prints the files with --stat and the SessionDiff with --json', async () => {
    const diff = {
      from: 0,
      files: [{ path: 'a.ts', status: 'added', additions: 2, deletions: 0 }],
      patch: '',
    };
    answer = json(200, diff);
    const stat = await jelmore('diff', 's1', '--from', '0', '--stat');
    expect(stat.out).toBe(
      'STATUS  +   -   PATH\nadded   +2  -0  a.ts\n1 file changed (turn 0 → now) · +2 -0\n',
    );
    expect(JSON.parse((await jelmore('diff', 's1', '--json')).out)).toEqual(diff);
    expect(seen.map((r) => [r.url, r.accept])).toEqual([
      ['/v1/sessions/s1/diff?from=0', 'application/json'],
      ['/v1/sessions/s1/diff', 'application/json'],
    ]);
  });

  it('refuses --turn with --from, a turn 0 diff, and rewind without --turn, asking nothing', async () => {
    for (const args of [
      ['diff', 's1', '--turn', '2', '--from', '1'],
      ['diff', 's1', '--turn', '0'],
      ['rewind', 's1'],
    ]) {
      expect((await jelmore(...args)).usageError).toMatchObject({ exitCode: 1 });
    }
    expect(seen).toEqual([]);
  });

  it('forks at a turn and rewinds, printing what came of it', async () => {
    answer = json(201, {
      id: 's2',
      state: 'starting',
      provider: 'claude',
      model: 'sonnet',
      parentId: 's1',
      forkedFrom: { sessionId: 's1', turn: 1 },
    });
    const fork = await jelmore('fork', 's1', '--turn', '1');
    expect(fork.out.split('\n')[1]).toBe('s2  starting  claude    sonnet  s1      1');
    answer = json(200, {
      session: { id: 's1', state: 'idle' },
      turn: 0,
      filesChanged: 2,
      conversation: 'truncated',
    });
    expect((await jelmore('rewind', 's1', '--turn', '0')).out).toBe(
      's1 idle · rewound to turn 0 · 2 files changed · conversation truncated\n',
    );
    expect(seen.map((r) => [r.method, r.url, r.body])).toEqual([
      ['POST', '/v1/sessions/s1/fork', '{"turn":1}'],
      ['POST', '/v1/sessions/s1/rewind', '{"turn":0}'],
    ]);
  });

  it('run --base-ref asks for a worktree from that ref', async () => {
    answer = json(400, { error: { code: 'BASE_REF_NOT_FOUND', message: 'No commit nope' } });
    expect(await jelmore('run', '--base-ref', 'nope', 'fix it')).toMatchObject({
      err: 'jelmore: BASE_REF_NOT_FOUND: No commit nope\n',
      code: 1,
    });
    await jelmore('run', '--worktree', 'fix it');
    expect(seen.map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { query: 'fix it', isolation: 'worktree', baseRef: 'nope' },
      { query: 'fix it', isolation: 'worktree' },
    ]);
  });

  it("prints the server's code and message, and exits 1", async () => {
    answer = json(409, { error: { code: 'FORK_UNSUPPORTED', message: 'codex cannot fork' } });
    expect(await jelmore('fork', 's1')).toMatchObject({
      out: '',
      err: 'jelmore: FORK_UNSUPPORTED: codex cannot fork\n',
      code: 1,
    });
  });
});
