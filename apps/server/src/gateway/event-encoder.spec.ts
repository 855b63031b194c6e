import * as parser from 'socket.io-parser';
import type { SessionEvent } from '@jelmore/contracts';
import { rememberEncoding } from '@jelmore/sessions';
import { LoggedEventsEncoder } from './event-encoder';

function logged(seq: number, text: string): SessionEvent {
  const event: SessionEvent = {
    sessionId: '6f1c2d4e-0000-4000-8000-000000000001',
    seq,
    ts: '2026-11-26T21:00:00.000Z',
    type: 'assistant',
    text,
  };
  return rememberEncoding(event, JSON.stringify(event));
}

describe('LoggedEventsEncoder', () => {
  const standard = new parser.Encoder();
  const ours = new LoggedEventsEncoder();

  it.each([
    ['a namespace', '/sessions', undefined],
    ['the main namespace and an ack id', '/', 7],
  ])('writes the same text as the default encoder (%s), from the logged JSON', (_, nsp, id) => {
    const packet: parser.Packet = {
      type: parser.PacketType.EVENT,
      nsp,
      data: ['session:events', [logged(1, 'héllo "quoted"\n'), logged(2, '')]],
      ...(id === undefined ? {} : { id }),
    };
    const [text] = ours.encode(packet) as string[];
    expect(text).toBe((standard.encode(packet) as string[])[0]);
  });

  it('sends the JSON the log made, not a new encoding of the object', () => {
    const event = logged(3, 'as logged');
    // Never done to a logged event: it shows which text is sent.
    (event as { text: string }).text = 'changed after logging';
    const [text] = ours.encode({
      type: parser.PacketType.EVENT,
      nsp: '/sessions',
      data: ['session:events', [event]],
    }) as string[];
    expect(text).toContain('as logged');
    expect(text).not.toContain('changed after logging');
  });

  it('leaves to the default encoder a batch with any event the log did not encode, and other packets', () => {
    const relayed = { ...logged(5, 'from another node') };
    const packets: parser.Packet[] = [
      {
        type: parser.PacketType.EVENT,
        nsp: '/s',
        data: ['session:events', [logged(4, 'x'), relayed]],
      },
      { type: parser.PacketType.EVENT, nsp: '/s', data: ['session:error', { code: 'LAGGED' }] },
      { type: parser.PacketType.ACK, nsp: '/s', id: 2, data: [{ ok: true }] },
      { type: parser.PacketType.EVENT, nsp: '/s', data: ['bin', Buffer.from('ab')] },
    ];
    for (const packet of packets) expect(ours.encode(packet)).toEqual(standard.encode(packet));
  });

  it('is decoded by the standard decoder into the events', () => {
    const events = [logged(8, 'one'), logged(9, 'two')];
    const [text] = ours.encode({
      type: parser.PacketType.EVENT,
      nsp: '/sessions',
      data: ['session:events', events],
    }) as string[];
    const decoder = new parser.Decoder();
    const decoded = new Promise<parser.Packet>((resolve) => decoder.on('decoded', resolve));
    decoder.add(text);
    return expect(decoded).resolves.toMatchObject({
      nsp: '/sessions',
      data: ['session:events', JSON.parse(JSON.stringify(events)) as unknown],
    });
  });
});
