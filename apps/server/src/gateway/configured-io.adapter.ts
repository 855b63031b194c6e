import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';

/** Socket.IO with the configured CORS allow-list and a bound on message size. */
export class ConfiguredIoAdapter extends IoAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly corsOrigins: string[],
    private readonly maxMessageBytes: number,
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
      maxHttpBufferSize: this.maxMessageBytes,
    } as Parameters<IoAdapter['createIOServer']>[1]);
  }
}
