import type { AnyMessage, Stream } from '@agentclientprotocol/sdk';

/**
 * The ACP SDK's message stream over an agent process's stdio, fed line by line by AgentProcess (so the
 * process keeps its sandbox, process group and drain). The protocol allows nothing but JSON-RPC on
 * stdout: a line that is not a JSON object is the agent's fault, reported to `onBadLine`.
 */
export class AcpChannel {
  readonly stream: Stream;
  private inbound?: ReadableStreamDefaultController<AnyMessage>;
  private closed = false;

  constructor(
    write: (message: AnyMessage) => void,
    private readonly onBadLine: (line: string) => void,
  ) {
    this.stream = {
      readable: new ReadableStream<AnyMessage>({
        start: (controller) => (this.inbound = controller),
      }),
      writable: new WritableStream<AnyMessage>({ write: (message) => write(message) }),
    };
  }

  /** One line of the agent's stdout. */
  push(line: string): void {
    if (this.closed || !line.trim()) return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      this.onBadLine(line);
      return;
    }
    if (!message || typeof message !== 'object' || Array.isArray(message)) {
      this.onBadLine(line);
      return;
    }
    try {
      this.inbound?.enqueue(message as AnyMessage);
    } catch {
      // The connection was closed from our side (the session ended): nobody reads any more.
      this.closed = true;
    }
  }

  /** The agent's output ended: the SDK rejects what it still waits for. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.inbound?.close();
    } catch {
      // Already closed by the SDK when the connection closed first.
    }
  }
}
