import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { ServerOptions } from 'socket.io';

/** Socket.IO with the configured CORS allow-list and a bound on message size. */
export class ConfiguredIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly corsOrigins: string[],
    private readonly maxMessageBytes: number,
    /** Cluster mode: the Redis adapter that carries broadcasts and server-side emits between nodes. */
    private readonly clusterAdapter?: ServerOptions['adapter'],
  ) {
    super(app);
  }

  override createIOServer(
    port: number,
    options?: Parameters<IoAdapter['createIOServer']>[1],
  ): ReturnType<IoAdapter['createIOServer']> {
    return super.createIOServer(port, {
      ...options,
      ...(this.corsOrigins.length ? { cors: { origin: this.corsOrigins } } : {}),
      ...(this.clusterAdapter ? { adapter: this.clusterAdapter } : {}),
      maxHttpBufferSize: this.maxMessageBytes,
    } as Parameters<IoAdapter['createIOServer']>[1]);
  }
}
