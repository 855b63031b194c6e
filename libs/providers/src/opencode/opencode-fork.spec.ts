import { ErrorCode } from '@jelmore/contracts';
import { forkOpencodeSession, turnMessageIds } from './opencode-fork';
import type { OpencodeServer } from './opencode-server';

describe('turnMessageIds', () => {
  const message = (
    id: string,
    role: string,
    ...parts: Array<{ type: string; synthetic?: boolean }>
  ) => ({
    info: { id, role },
    parts,
  });

  it('counts the prompts: not assistant messages, compaction requests or synthetic notes', () => {
    expect(
      turnMessageIds([
        message('u1', 'user', { type: 'text' }),
        message('a1', 'assistant', { type: 'step-start' }, { type: 'tool' }, { type: 'text' }),
        message('c1', 'user', { type: 'compaction' }),
        message('a2', 'assistant', { type: 'text' }),
        message('n1', 'user', { type: 'text', synthetic: true }),
        message('u2', 'user', { type: 'text', synthetic: true }, { type: 'file' }),
      ]),
    ).toEqual(['u1', 'u2']);
  });
});

describe('forkOpencodeSession', () => {
  /** A server that answers from `replies` by method and path (query aside) and records the requests. */
  function server(replies: Record<string, unknown>) {
    const requests: Array<{ method: string; path: string; body?: unknown }> = [];
    const stub = {
      request: async (method: string, path: string, body?: unknown) => {
        requests.push({ method, path, body });
        const reply = replies[`${method} ${path.split('?')[0]}`];
        if (reply instanceof Error) throw reply;
        return reply;
      },
    };
    return { server: stub as unknown as OpencodeServer, requests };
  }
  const history = [
    { info: { id: 'm1', role: 'user' }, parts: [{ type: 'text' }] },
    { info: { id: 'm2', role: 'assistant' }, parts: [{ type: 'text' }] },
    { info: { id: 'm3', role: 'user' }, parts: [{ type: 'text' }] },
    { info: { id: 'm4', role: 'assistant' }, parts: [{ type: 'text' }] },
  ];

  it('forks before the next turn`s prompt, or whole at the last turn, and moves the fork', async () => {
    const { server: stub, requests } = server({
      'GET /session/ses_p/message': history,
      'POST /session/ses_p/fork': { id: 'ses_f', directory: '/parent' },
      'POST /experimental/control-plane/move-session': undefined,
    });
    expect(await forkOpencodeSession(stub, 'ses_p', 1, '/target')).toBe('ses_f');
    expect(requests.slice(1)).toEqual([
      {
        method: 'POST',
        path: '/session/ses_p/fork?directory=%2Ftarget',
        body: { messageID: 'm3' },
      },
      {
        method: 'POST',
        path: '/experimental/control-plane/move-session',
        body: { sessionID: 'ses_f', destination: { directory: '/target' }, moveChanges: false },
      },
    ]);
    requests.length = 0;
    // The same directory (a rewind): no move.
    await forkOpencodeSession(stub, 'ses_p', 2, '/parent');
    expect(requests.map((r) => [r.path.split('?')[0], r.body])).toEqual([
      ['/session/ses_p/message', undefined],
      ['/session/ses_p/fork', {}],
    ]);
  });

  it('refuses a turn past the last, starts afresh at turn 0, and drops a fork it cannot move', async () => {
    const { server: stub, requests } = server({
      'GET /session/ses_p/message': history,
      'POST /session': { id: 'ses_new' },
      'POST /session/ses_p/fork': { id: 'ses_f', directory: '/parent' },
      'POST /experimental/control-plane/move-session': new Error('project mismatch'),
      'DELETE /session/ses_f': true,
    });
    await expect(forkOpencodeSession(stub, 'ses_p', 3, '/t')).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });
    await expect(forkOpencodeSession(stub, undefined, 1, '/t')).rejects.toMatchObject({
      code: ErrorCode.CheckpointNotFound,
    });
    expect(await forkOpencodeSession(stub, 'ses_p', 0, '/t')).toBe('ses_new');
    await expect(forkOpencodeSession(stub, 'ses_p', 1, '/t')).rejects.toThrow('project mismatch');
    expect(requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/session/ses_f' });
  });
});
