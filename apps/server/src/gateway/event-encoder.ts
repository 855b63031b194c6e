import * as parser from 'socket.io-parser';
import type { SessionEvent } from '@jelmore/contracts';
import { encodingOf } from '@jelmore/sessions';

/**
 * socket.io's encoder, except for a packet that carries a batch of logged events (`[name, events]`):
 * that one is written from each event's JSON as the log made it, instead of walking every event for
 * binary data and encoding it again for each subscriber. The text is the same as the default encoder's
 * (`2<nsp>,<id>[name,[event,...]]`), so clients decode it with the standard parser. A packet with any
 * event the log did not encode (e.g. relayed by another node) goes to the default encoder.
 */
export class LoggedEventsEncoder extends parser.Encoder {
  override encode(packet: parser.Packet): ReturnType<parser.Encoder['encode']> {
    const data = packet.data as unknown;
    if (
      packet.type === parser.PacketType.EVENT &&
      Array.isArray(data) &&
      data.length === 2 &&
      typeof data[0] === 'string' &&
      Array.isArray(data[1]) &&
      data[1].length > 0
    ) {
      const events = data[1] as SessionEvent[];
      const texts: string[] = [];
      for (const event of events) {
        const text = encodingOf(event);
        if (text === undefined) return super.encode(packet);
        texts.push(text);
      }
      let head = String(packet.type);
      if (packet.nsp && packet.nsp !== '/') head += `${packet.nsp},`;
      if (packet.id !== undefined && packet.id !== null) head += String(packet.id);
      return [`${head}[${JSON.stringify(data[0])},[${texts.join(',')}]]`];
    }
    return super.encode(packet);
  }
}

/** The socket.io parser with that encoder (the option `parser` of the server). */
export const loggedEventsParser = { ...parser, Encoder: LoggedEventsEncoder };
