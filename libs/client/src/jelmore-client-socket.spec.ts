import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { WS_NAMESPACE, WsClientEvents } from '@jelmore/contracts';
import { JelmoreClient } from './jelmore-client';
import { JelmoreClientError } from './client-error';

type Ack = (answer: unknown) => void;

/** A stand-in Socket.IO server: `commands: 'socket'` must send fork and rewind as WS commands. */
describe('JelmoreClient over Socket.IO commands', () => {
  let http: HttpServer;
  let io: Server;
  let client: JelmoreClient;
  const seen: Array<[string, unknown]> = [];
  let answer: (event: string, payload: unknown) => unknown;

  beforeAll(async () => {
    http = createServer();
    io = new Server(http);
    io.of(WS_NAMESPACE).on('connection', (socket) =>
      socket.onAny((event: string, payload: unknown, ack: Ack) => {
        seen.push([event, payload]);
        ack(answer(event, payload));
      }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    client = new JelmoreClient({ url, commands: 'socket', timeoutMs: 5000 });
  });

  afterAll(async () => {
    client.close();
    await io.close();
  });

  beforeEach(() => (seen.length = 0));

  it('forks and rewinds with session:fork and session:rewind, answering what the acks carry', async () => {
    const child = { id: 's2', parentId: 's1', forkedFrom: { sessionId: 's1', turn: 1 } };
    const rewound = { session: { id: 's1' }, turn: 1, filesChanged: 2, conversation: 'truncated' };
    answer = (event) =>
      event === WsClientEvents.fork ? { ok: true, session: child } : { ok: true, ...rewound };
    expect(await client.fork('s1', { turn: 1 })).toEqual(child);
    await client.fork('s1');
    expect(await client.rewind('s1', 1)).toEqual(rewound);
    expect(seen).toEqual([
      ['session:fork', { sessionId: 's1', turn: 1 }],
      ['session:fork', { sessionId: 's1' }],
      ['session:rewind', { sessionId: 's1', turn: 1 }],
    ]);
  });

  it("throws a refusing ack's code", async () => {
    answer = () => ({ ok: false, error: { code: 'CHECKPOINT_NOT_FOUND', message: 'No turn 7' } });
    const error = await client.rewind('s1', 7).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(JelmoreClientError);
    expect(error).toMatchObject({ code: 'CHECKPOINT_NOT_FOUND', message: 'No turn 7' });
  });
});
