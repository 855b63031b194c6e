import { type DynamicModule, Module } from '@nestjs/common';
import { RATE_LIMIT_CLOCK } from '@jelmore/providers';

/**
 * Real time plus an offset the test moves on: the server's rate limits see a window pass at once,
 * without the test sleeping it out (and everything else keeps the real clock).
 */
export class TestClock {
  private offset = 0;
  private stoppedAt?: { monotonic: number; wall: number };
  /** Monotonic, as the providers' rate windows read it (RATE_LIMIT_CLOCK). */
  readonly monotonic = () => (this.stoppedAt?.monotonic ?? performance.now()) + this.offset;
  /** Wall-clock, as the request and Socket.IO rate limits read it (WindowCounterStorage). */
  readonly wall = () => (this.stoppedAt?.wall ?? Date.now()) + this.offset;

  advance(ms: number): void {
    this.offset += ms;
  }

  /**
   * From now on only `advance` moves it: a token bucket then refills by what the test says, not by how
   * long a loaded machine takes to send a burst.
   */
  stop(): void {
    this.stoppedAt = { monotonic: performance.now(), wall: Date.now() };
  }
}

@Module({})
class TestClockModule {}

/** Provides RATE_LIMIT_CLOCK to every module: ProviderSelector picks it up. */
export function testClockModule(clock: TestClock): DynamicModule {
  return {
    module: TestClockModule,
    global: true,
    providers: [{ provide: RATE_LIMIT_CLOCK, useValue: clock.monotonic }],
    exports: [RATE_LIMIT_CLOCK],
  };
}
