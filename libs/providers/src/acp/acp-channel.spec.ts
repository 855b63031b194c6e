import type { AnyMessage } from '@agentclientprotocol/sdk';
import { AcpChannel } from './acp-channel';

function channel() {
  const written: AnyMessage[] = [];
  const bad: string[] = [];
  const ch = new AcpChannel(
    (message) => written.push(message),
    (line) => bad.push(line),
  );
  return { ch, written, bad, reader: ch.stream.readable.getReader() };
}

/** Everything the stream delivers until it ends (the channel must be closed first). */
async function drain(reader: ReadableStreamDefaultReader<AnyMessage>): Promise<AnyMessage[]> {
  const out: AnyMessage[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

const UPDATE = {
  jsonrpc: '2.0',
  method: 'session/update',
  params: {
    sessionId: 's1',
    update: { sessionUpdate: 'agent_message_chunk', content: { type: 'text', text: 'Echo: ' } },
  },
};
const ANSWER = { jsonrpc: '2.0', id: 2, result: { stopReason: 'end_turn' } };

describe('AcpChannel', () => {
  it('passes JSON lines to the readable stream in order', async () => {
    const { ch, bad, reader } = channel();
    ch.push(JSON.stringify(UPDATE));
    ch.push(`  ${JSON.stringify(ANSWER)}\r`);
    ch.push('{"jsonrpc":"2.0","id":0,"result":{}}');
    ch.close();
    expect(await drain(reader)).toEqual([UPDATE, ANSWER, { jsonrpc: '2.0', id: 0, result: {} }]);
    expect(bad).toEqual([]);
  });

  it('skips blank lines without calling onBadLine', async () => {
    const { ch, bad, reader } = channel();
    ch.push('');
    ch.push('   ');
    ch.push(JSON.stringify(ANSWER));
    ch.close();
    expect(await drain(reader)).toEqual([ANSWER]);
    expect(bad).toEqual([]);
  });

  it.each([
    ['a non-JSON line', 'Loaded cached credentials.'],
    ['a JSON array', '[{"jsonrpc":"2.0","id":1,"result":{}}]'],
    ['JSON null', 'null'],
    ['a JSON number', '42'],
    ['a JSON string', '"hello"'],
  ])('sends %s to onBadLine, not to the stream', async (_, line) => {
    const { ch, bad, reader } = channel();
    ch.push(JSON.stringify(UPDATE));
    ch.push(line);
    ch.push(JSON.stringify(ANSWER));
    ch.close();
    expect(await drain(reader)).toEqual([UPDATE, ANSWER]);
    expect(bad).toEqual([line]);
  });

  it('ignores a push after close without throwing; close twice is fine', async () => {
    const { ch, bad, reader } = channel();
    ch.push(JSON.stringify(UPDATE));
    ch.close();
    expect(() => ch.push(JSON.stringify(ANSWER))).not.toThrow();
    expect(() => ch.push('not json')).not.toThrow();
    expect(() => ch.close()).not.toThrow();
    expect(await drain(reader)).toEqual([UPDATE]);
    expect(bad).toEqual([]);
  });

  it('a push after the reader side was cancelled neither throws nor reaches onBadLine', async () => {
    const { ch, bad, reader } = channel();
    await reader.cancel();
    expect(() => ch.push(JSON.stringify(ANSWER))).not.toThrow();
    expect(() => ch.push(JSON.stringify(UPDATE))).not.toThrow();
    expect(() => ch.close()).not.toThrow();
    expect(bad).toEqual([]);
  });

  it('writes what the SDK sends to the agent through write()', async () => {
    const { ch, written } = channel();
    const writer = ch.stream.writable.getWriter();
    const initialize = { jsonrpc: '2.0', id: 0, method: 'initialize', params: {} } as AnyMessage;
    await writer.write(initialize);
    await writer.write(ANSWER as AnyMessage);
    expect(written).toEqual([initialize, ANSWER]);
  });
});
